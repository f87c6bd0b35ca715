// socket.io's handshakes bypass Fastify's rate limiter: past RATE_LIMIT_PER_MINUTE new connections
// a minute, a client gets 429 with Retry-After, over polling and WebSocket alike; other clients,
// the walls already connected and the requests within their sessions go on.
import { Agent, request } from 'node:http'
import { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { io as connect } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { AccessTokens, SESSION_COOKIE } from '../../server/access.ts'
import { buildServer } from '../../server/app.ts'
import {
  addressKey,
  HANDSHAKE_WINDOW_MS,
  HandshakeCounter,
  MAX_TRACKED_CLIENTS,
} from '../../server/plugins/handshake-limit.ts'
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
      ...(options.from
        ? { localAddress: options.from, agent: new Agent({ localAddress: options.from }) as never }
        : {}),
      ...(options.cookie ? { extraHeaders: { cookie: `${SESSION_COOKIE}=${options.cookie}` } } : {}),
    })
    const close = () => void s.close()
    s.once('snapshot.v1', () => resolve({ result: 'connected', close }))
    s.once('connect_error', (e) => (close(), resolve({ result: `refused: ${e.message}`, close })))
  })
}

/** Where a raw request comes from and what it says: the source address, the Host, a proxy's X-Forwarded-For. */
interface Wire {
  query?: string
  from?: string
  host?: string
  forwardedFor?: string
}

/** A polling request as sent on the wire (a handshake unless `query` names a sid): the status, Retry-After and body. */
function pollingHandshake(url: string, wire: Wire = {}, post?: string) {
  const headers = {
    ...(wire.host ? { host: wire.host } : {}),
    ...(wire.forwardedFor ? { 'x-forwarded-for': wire.forwardedFor } : {}),
    ...(post ? { 'content-type': 'text/plain' } : {}),
  }
  return new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
    request(
      `${url}/socket.io/?EIO=4&transport=polling${wire.query ?? ''}`,
      { method: post ? 'POST' : 'GET', headers, ...(wire.from ? { localAddress: wire.from } : {}) },
      (response) => {
        let body = ''
        response.on('data', (d: Buffer) => (body += d))
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: response.headers['retry-after'] as string | undefined,
            body,
          }),
        )
      },
    )
      .on('error', reject)
      .end(post)
  })
}

/** A WebSocket handshake as sent on the wire: the status it is refused with (101: accepted). */
function websocketHandshake(url: string, wire: Wire = {}) {
  return new Promise<number>((resolve) => {
    const ws = new WebSocket(
      `${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket${wire.query ?? ''}`,
      wire.from ? { localAddress: wire.from } : {},
    )
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
    guarded = await buildServer({
      store: t.store,
      view: new LiveView(),
      tracking,
      health: { classifier: 'vader-lexicon', sources: [], stats: () => ({}) },
      access,
      rateLimits: { perMinute: 2, ingestPerMinute: 0 },
      trustProxy: '127.0.0.1',
    })
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
    expect(JSON.parse(refused.body)).toEqual({
      error: {
        code: 'rate_limited',
        message: expect.stringMatching(/^Too many connections: at most 3 .* a minute .*; try again in \d+ s$/),
      },
    })
    expect(await websocketHandshake(url)).toBe(429)

    // Another address has its own count.
    expect((await attempt(url, { from: '127.0.0.2' })).result).toBe('connected')
    expect((await attempt(url, { from: '127.0.0.2', polling: true })).result).toBe('connected')
    // The walls connected go on: the polling one's session kept asking (a clock a second).
    const ticks = await new Promise<number>((resolve) => {
      const s = connect(url, {
        transports: ['polling'],
        reconnection: false,
        localAddress: '127.0.0.3',
        agent: new Agent({ localAddress: '127.0.0.3' }),
      } as never)
      let n = 0
      s.on('clock.v1', () => {
        if (++n === 3) s.close(), resolve(n)
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
    expect((await attempt(guardedUrl, { cookie: 'made-up-token-000000003' })).result).toMatch(
      /^refused: websocket error/,
    )
  }, 30_000)

  it('counts a handshake whose sid is empty, or not the last one: engine.io opens a new session for it', async () => {
    const from = '127.0.0.4'
    const first = await pollingHandshake(url, { from })
    expect(first.status).toBe(200)
    const { sid } = JSON.parse(first.body.slice(1)) as { sid: string }
    expect((await pollingHandshake(url, { from, query: '&sid=' })).status).toBe(200)
    expect((await pollingHandshake(url, { from, query: '&sid=x&sid=' })).status).toBe(200)
    for (const query of ['', '&sid=', '&sid=x&sid=', `&sid=${sid}&sid=`])
      expect((await pollingHandshake(url, { from, query })).status, query).toBe(429)
    expect(await websocketHandshake(url, { from, query: '&sid=' })).toBe(429)
    // The session's own requests go on, its sid the last one given: socket.io's connect, then its answer.
    expect(await pollingHandshake(url, { from, query: `&sid=&sid=${sid}` }, '40')).toMatchObject({
      status: 200,
      body: 'ok',
    })
    expect(await pollingHandshake(url, { from, query: `&sid=${sid}` })).toMatchObject({
      status: 200,
      body: expect.stringMatching(/^40\{"sid":/),
    })
    // A sid that names no session opens none: engine.io refuses it (400), uncounted.
    expect((await pollingHandshake(url, { from, query: '&sid=no-such-session' })).status).toBe(400)
  }, 30_000)

  it('does not count a request refused for its Host: a rebinding page spends none of the address budget', async () => {
    for (let i = 0; i < 5; i++)
      expect((await pollingHandshake(url, { from: '127.0.0.5', host: 'evil.example:3000' })).status).toBe(403)
    expect((await pollingHandshake(url, { from: '127.0.0.5' })).status).toBe(200)
  })

  it('counts IPv6 clients by their /64, and an IPv4-mapped address as the IPv4 one', async () => {
    // Through a trusted proxy (TRUST_PROXY), the client is the address it forwards.
    const via = async (forwardedFor: string) => (await pollingHandshake(guardedUrl, { forwardedFor })).status
    expect(await via('2001:db8:1:2::a')).toBe(200)
    expect(await via('2001:db8:1:2:ffff:1:2:3')).toBe(200)
    expect(await via('2001:0db8:0001:0002::b')).toBe(429)
    expect(await via('2001:db8:1:3::a')).toBe(200)
    expect(await via('10.9.8.7')).toBe(200)
    expect(await via('::ffff:10.9.8.7')).toBe(200)
    expect(await via('::ffff:a09:807')).toBe(429)
  })
})

describe('HandshakeCounter', () => {
  it('keeps at most its cap of clients, forgetting the oldest first', () => {
    let now = 0
    const counter = new HandshakeCounter(1, () => now, 3)
    for (const key of ['a', 'b', 'c']) expect(counter.take(key)).toBe(0)
    expect(counter.take('b')).toBeGreaterThan(0)
    expect(counter.take('d')).toBe(0)
    expect(counter.size).toBe(3)
    // 'a' was the oldest: forgotten, it starts again; 'b' and 'd' are still counted.
    expect(counter.take('a')).toBe(0)
    expect(counter.take('d')).toBeGreaterThan(0)
    now = HANDSHAKE_WINDOW_MS
    expect(counter.take('d')).toBe(0)
  })

  it('stays within MAX_TRACKED_CLIENTS under a flood of new clients within one window', () => {
    const counter = new HandshakeCounter(5, () => 1_000)
    for (let i = 0; i < MAX_TRACKED_CLIENTS * 2; i++) counter.take(`ip:${i}`)
    expect(counter.size).toBe(MAX_TRACKED_CLIENTS)
  })

  it('drops the windows that ended', () => {
    let now = 0
    const counter = new HandshakeCounter(1, () => now)
    for (let i = 0; i < 100; i++) counter.take(`ip:${i}`)
    now = HANDSHAKE_WINDOW_MS
    counter.take('ip:new')
    expect(counter.size).toBe(1)
  })
})

describe('addressKey', () => {
  it('keys IPv4 as it is, IPv6 by its /64, IPv4-mapped IPv6 as its IPv4', () => {
    expect(addressKey('203.0.113.9')).toBe('203.0.113.9')
    expect(addressKey('::ffff:203.0.113.9')).toBe('203.0.113.9')
    expect(addressKey('::FFFF:cb00:7109')).toBe('203.0.113.9')
    expect(addressKey('2001:db8:aa:bb:1:2:3:4')).toBe('2001:db8:aa:bb::/64')
    expect(addressKey('2001:db8:aa:bb::9')).toBe('2001:db8:aa:bb::/64')
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
    expect(addressKey('not an address')).toBe('not an address')
  })
})
