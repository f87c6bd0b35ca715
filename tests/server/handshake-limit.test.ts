// socket.io's handshakes bypass Fastify's rate limiter: past RATE_LIMIT_PER_MINUTE new connections
// a minute, a client gets 429 with Retry-After, over polling and WebSocket alike; other clients,
// the walls already connected and the requests within their sessions go on.
import { Agent, request } from 'node:http'
import { io as connect } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { LiveView } from '../../pipelines/sinks/socketio.ts'
import { AccessTokens, SESSION_COOKIE } from '../../server/access.ts'
import { buildServer } from '../../server/app.ts'
import { tracking } from '../support/fixtures.ts'
import { testApp } from '../support/server.ts'

const VIEWER = 'viewer-token-0123456789'
const ADMIN = 'admin-token-0123456789'

/** A wall's connection: 'connected' once its snapshot came, else why it was refused. */
function attempt(url: string, options: { polling?: boolean; from?: string; cookie?: string } = {}) {
  return new Promise<{ result: string; close: () => void }>((resolve) => {
    const s = connect(url, {
      transports: [options.polling ? 'polling' : 'websocket'],
      reconnection: false,
      // Polling goes through an http.Agent in Node (the option's type knows only the browser's).
      ...(options.from ? { localAddress: options.from, agent: new Agent({ localAddress: options.from }) as never } : {}),
      ...(options.cookie ? { extraHeaders: { cookie: `${SESSION_COOKIE}=${options.cookie}` } } : {}),
    })
    const close = () => void s.close()
    s.once('snapshot.v1', () => resolve({ result: 'connected', close }))
    s.once('connect_error', (e) => (close(), resolve({ result: `refused: ${e.message}`, close })))
  })
}

/** A polling handshake as sent on the wire: the status, Retry-After and body. */
function pollingHandshake(url: string) {
  return new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
    request(`${url}/socket.io/?EIO=4&transport=polling`, (response) => {
      let body = ''
      response.on('data', (d: Buffer) => (body += d))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] as string | undefined, body }))
    })
      .on('error', reject)
      .end()
  })
}

/** A WebSocket handshake as sent on the wire: the status it is refused with (101: accepted). */
function websocketHandshake(url: string) {
  return new Promise<number>((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`)
    ws.once('open', () => (ws.close(), resolve(101)))
    ws.once('unexpected-response', (_request, response) => (ws.terminate(), resolve(response.statusCode ?? 0)))
    ws.once('error', () => resolve(0))
  })
}

describe('socket.io handshake rate limit', () => {
  let t: Awaited<ReturnType<typeof testApp>>
  // The same store, with access tokens (one embedded store a process).
  let guarded: Awaited<ReturnType<typeof buildServer>>
  let url: string
  let guardedUrl: string
  beforeAll(async () => {
    t = await testApp({ rateLimits: { perMinute: 3, ingestPerMinute: 0 } })
    url = await t.app.listen({ port: 0, host: '127.0.0.1' })
    const access = new AccessTokens([
      { role: 'viewer', token: VIEWER },
      { role: 'admin', token: ADMIN },
    ])
    guarded = await buildServer({ store: t.store, view: new LiveView(), tracking, health: { classifier: 'vader-lexicon', sources: [], stats: () => ({}) }, access, rateLimits: { perMinute: 2, ingestPerMinute: 0 } })
    guardedUrl = await guarded.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await guarded?.close()
    await t?.close()
  })

  it('refuses a client past its handshakes a minute (429, Retry-After), and no other client', async () => {
    // A wall over polling: every request of its session passes, only its handshake counts.
    const polling = await attempt(url, { polling: true })
    expect(polling.result).toBe('connected')
    const walls = [polling, await attempt(url), await attempt(url)]
    expect(walls.map((w) => w.result)).toEqual(['connected', 'connected', 'connected'])
    expect((await attempt(url)).result).toMatch(/^refused/)
    expect((await attempt(url, { polling: true })).result).toMatch(/^refused/)

    const refused = await pollingHandshake(url)
    expect(refused.status).toBe(429)
    expect(Number(refused.retryAfter)).toBeGreaterThan(0)
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60)
    expect(JSON.parse(refused.body)).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/^Too many connections: at most 3 .* a minute .*; try again in \d+ s$/) } })
    expect(await websocketHandshake(url)).toBe(429)

    // Another address has its own count.
    expect((await attempt(url, { from: '127.0.0.2' })).result).toBe('connected')
    expect((await attempt(url, { from: '127.0.0.2', polling: true })).result).toBe('connected')
    // The walls connected go on: the polling one's session kept asking (a clock a second).
    const ticks = await new Promise<number>((resolve) => {
      const s = connect(url, { transports: ['polling'], reconnection: false, localAddress: '127.0.0.3', agent: new Agent({ localAddress: '127.0.0.3' }) } as never)
      let n = 0
      s.on('clock.v1', () => {
        if (++n === 3) (s.close(), resolve(n))
      })
    })
    expect(ticks).toBe(3)
    for (const w of walls) w.close()
  }, 30_000)

  it('counts a valid session token apart from the address, and an invalid one as the address', async () => {
    expect((await attempt(guardedUrl, { cookie: VIEWER })).result).toBe('connected')
    expect((await attempt(guardedUrl, { cookie: VIEWER })).result).toBe('connected')
    expect((await attempt(guardedUrl, { cookie: VIEWER })).result).toMatch(/^refused: websocket error/)
    expect((await attempt(guardedUrl, { cookie: ADMIN })).result).toBe('connected')
    // Made-up tokens are one client, the address: two refused by the access check, then by the limit.
    expect((await attempt(guardedUrl, { cookie: 'made-up-token-000000001' })).result).toMatch(/unauthorized/)
    expect((await attempt(guardedUrl, { cookie: 'made-up-token-000000002' })).result).toMatch(/unauthorized/)
    expect((await attempt(guardedUrl, { cookie: 'made-up-token-000000003' })).result).toMatch(/^refused: websocket error/)
  }, 30_000)
})
