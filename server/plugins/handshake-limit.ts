// socket.io's requests reach engine.io before Fastify, so its rate limiter never sees them: each
// new connection (a handshake: no session id yet) is counted here per client, as Fastify counts
// requests (RATE_LIMIT_PER_MINUTE, a window of a minute from the client's first). Each handshake
// costs a snapshot from the store; requests within a session are not counted.
import { createHash } from 'node:crypto'
import { type IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { ERROR_CODES, errorBody } from '../errors.ts'

export const HANDSHAKE_WINDOW_MS = 60_000
/** Clients remembered before the expired ones are dropped (at most once a second). */
export const MAX_TRACKED_CLIENTS = 10_000

/** Handshakes per client in windows of a minute from its first. */
export class HandshakeCounter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>()
  private prunedAt = 0

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one handshake of `key`: 0 when it is within the limit, else the milliseconds until the client may try again. */
  take(key: string): number {
    const now = this.now()
    if (this.windows.size >= MAX_TRACKED_CLIENTS && now - this.prunedAt >= 1_000) {
      this.prunedAt = now
      for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k)
    }
    let window = this.windows.get(key)
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + HANDSHAKE_WINDOW_MS }
      this.windows.set(key, window)
    }
    window.count += 1
    return window.count > this.perMinute ? window.resetAt - now : 0
  }
}

/** The key a client is counted under: its valid token (hashed) when it has one, else its address (as access.ts callerKey). */
export const handshakeKey = (token: string | undefined, address: string) => (token ? `token:${createHash('sha256').update(token).digest('hex').slice(0, 32)}` : `ip:${address}`)

type EngineResponse = ServerResponse | { socket: Duplex }

/**
 * An engine.io middleware (`io.engine.use`): past `perMinute` handshakes, 429 with Retry-After and
 * the API's error body, over polling or on a WebSocket upgrade alike.
 */
export function handshakeLimit(perMinute: number, keyOf: (request: IncomingMessage) => string, now?: () => number) {
  const counter = new HandshakeCounter(perMinute, now)
  return (request: IncomingMessage, response: EngineResponse, next: (error?: Error) => void) => {
    // A request within a session names it (sid): polling and the upgrade to a WebSocket.
    if (perMinute === 0 || new URLSearchParams(request.url?.split('?')[1] ?? '').has('sid')) return next()
    const wait = counter.take(keyOf(request))
    if (wait === 0) return next()
    const seconds = Math.ceil(wait / 1_000)
    const body = JSON.stringify(errorBody(ERROR_CODES.RATE_LIMITED, `Too many connections: at most ${perMinute} live-stream handshakes a minute per client (RATE_LIMIT_PER_MINUTE); try again in ${seconds} s`))
    const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), 'retry-after': String(seconds) }
    // engine.io then only closes the connection: the answer is sent by then.
    const refused = () => next(new Error('too many handshakes'))
    if (response instanceof ServerResponse) {
      response.writeHead(429, headers)
      response.end(body, refused)
    } else {
      // A WebSocket upgrade: engine.io's stand-in response writes nothing, so the answer goes on the socket.
      const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}`)
      response.socket.end(['HTTP/1.1 429 Too Many Requests', 'connection: close', ...head, '', body].join('\r\n'), refused)
    }
  }
}
