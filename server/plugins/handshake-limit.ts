// socket.io's requests reach engine.io before Fastify, so its rate limiter never sees them: each
// new connection (a handshake: no session id yet) is counted here per client, as Fastify counts
// requests (RATE_LIMIT_PER_MINUTE, a window of a minute from the client's first). Each handshake
// costs a snapshot from the store; requests within a session are not counted.
import { createHash } from 'node:crypto'
import { isIPv6 } from 'node:net'
import { type EngineMiddleware, type EngineRequest, refuseEngineRequest } from '../engine-refusal.ts'
import { ERROR_CODES, errorBody } from '../errors.ts'

export const HANDSHAKE_WINDOW_MS = 60_000
/** Clients remembered at most: past it, the oldest is forgotten (a flood of new addresses costs bounded memory). */
export const MAX_TRACKED_CLIENTS = 10_000

/** Handshakes per client in windows of a minute from its first. */
export class HandshakeCounter {
  // In the order the windows opened (one that ends is deleted before it opens again), so in order of their end.
  private readonly windows = new Map<string, { count: number; resetAt: number }>()

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
    private readonly maxClients = MAX_TRACKED_CLIENTS,
  ) {}

  /** Clients remembered now. */
  get size(): number {
    return this.windows.size
  }

  /** Counts one handshake of `key`: 0 when it is within the limit, else the milliseconds until the client may try again. */
  take(key: string): number {
    const now = this.now()
    // The ended windows are at the front: each is dropped once, so this costs nothing on average.
    for (const [k, w] of this.windows) {
      if (w.resetAt > now) break
      this.windows.delete(k)
    }
    let window = this.windows.get(key)
    if (window && window.resetAt <= now) this.windows.delete(key)
    if (!window || window.resetAt <= now) {
      if (this.windows.size >= this.maxClients) this.windows.delete(this.windows.keys().next().value as string)
      window = { count: 0, resetAt: now + HANDSHAKE_WINDOW_MS }
      this.windows.set(key, window)
    }
    window.count += 1
    return window.count > this.perMinute ? window.resetAt - now : 0
  }
}

/** An IPv6 address's eight groups (a zone, and a dotted IPv4 tail, read), or undefined when it is none. */
function ipv6Groups(address: string): number[] | undefined {
  if (!isIPv6(address)) return undefined
  let text = address.toLowerCase().replace(/%.*$/, '')
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)))
  const front = groups(head)
  const back = tail === undefined ? [] : groups(tail)
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back]
}

/**
 * The address a client is counted under: IPv4 as it is (an IPv4-mapped IPv6 address too), IPv6
 * by its /64, the least a subscriber or a host is given (one alone would give a client 2^64 keys).
 */
export function addressKey(address: string): string {
  const g = ipv6Groups(address)
  if (!g) return address
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff)
    return [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join('.')
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`
}

/** The key a client is counted under: its valid token (hashed) when it has one, else its address (as access.ts callerKey). */
export const handshakeKey = (token: string | undefined, address: string) =>
  token ? `token:${createHash('sha256').update(token).digest('hex').slice(0, 32)}` : `ip:${addressKey(address)}`

/**
 * Whether engine.io takes `request` for one within an existing session: it reads the query before
 * its middlewares run (the last of repeated names wins) and opens a new session for any request
 * whose sid is missing or empty (`&sid=`, `&sid=x&sid=`), so exactly those are handshakes.
 */
function withinSession(request: EngineRequest): boolean {
  const query = request._query ?? Object.fromEntries(new URL(request.url ?? '/', 'http://socket.io').searchParams)
  return Boolean(query.sid)
}

/**
 * An engine.io middleware (`io.engine.use`): past `perMinute` handshakes, 429 with Retry-After and
 * the API's error body, over polling or on a WebSocket upgrade alike.
 */
export function handshakeLimit(
  perMinute: number,
  keyOf: (request: EngineRequest) => string,
  now?: () => number,
): EngineMiddleware {
  const counter = new HandshakeCounter(perMinute, now)
  return (request, response, next) => {
    if (perMinute === 0 || withinSession(request)) return next()
    const wait = counter.take(keyOf(request))
    if (wait === 0) return next()
    const seconds = Math.ceil(wait / 1_000)
    const body = errorBody(
      ERROR_CODES.RATE_LIMITED,
      `Too many connections: at most ${perMinute} live-stream handshakes a minute per client (RATE_LIMIT_PER_MINUTE); try again in ${seconds} s`,
    )
    refuseEngineRequest(response, 429, body, next, 'too many handshakes', { 'retry-after': String(seconds) })
  }
}
