// AUTH_TOKENS: with tokens configured, the API, /metrics and the live stream need one; a viewer
// reads, an admin acts; the page exchanges a token for an HttpOnly cookie; probes stay open.
// Rate limits (RATE_LIMIT_PER_MINUTE) answer 429 in the one error shape, guessing tokens included.
import { createConnection } from 'node:net'
import { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { io as connect } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AccessTokens, parseAuthTokens } from '../../server/access.ts'
import { type ConfigError, loadConfig, trustProxyOf } from '../../server/config.ts'
import { buildServer } from '../../server/app.ts'
import { tracking } from '../support/fixtures.ts'
import { testApp } from '../support/server.ts'

const ADMIN = 'admin-0123456789abcdef'
const VIEWER = 'viewer-0123456789abcdef'
const access = new AccessTokens(parseAuthTokens(`admin:${ADMIN},viewer:${VIEWER}`).tokens)
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('access tokens', () => {
  let t: Awaited<ReturnType<typeof testApp>>
  let url: string
  beforeAll(async () => {
    t = await testApp({ access })
    url = await t.app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => t?.close())

  it('refuses the API and /metrics without a valid token, in the one error shape', async () => {
    for (const path of ['/api/posts', '/api/aggregates?lastMinutes=5', '/api/alerts', '/metrics']) {
      for (const headers of [{}, bearer('not-a-token-at-all'), { cookie: 'undertow_token=wrong-wrong-wrong-wrong' }]) {
        const res = await t.app.inject({ url: path, headers })
        expect(res.statusCode, `${path} ${JSON.stringify(headers)}`).toBe(401)
        expect(res.json()).toEqual({
          error: { code: 'unauthorized', message: expect.stringMatching(/needs an access token/) },
        })
      }
    }
  })

  it('guards by the route matched, not the text of the URL: encoded paths and full URLs are refused too', async () => {
    for (const path of ['/%61pi/posts', '/%6Detrics', '/api/%70osts?pageSize=1', '/api/posts/']) {
      const res = await t.app.inject({ url: path })
      expect([401, 404], path).toContain(res.statusCode)
      expect(res.body, path).not.toMatch(/"posts"|undertow_/)
    }
    expect(
      (await t.app.inject({ method: 'POST', url: '/%61pi/alerts/Lumen%3Ax/acknowledge', headers: bearer(VIEWER) }))
        .statusCode,
    ).toBe(403)
    // A full URL in the request line, as a proxy would send it: the router takes it, the guard too
    // (with a Host this server answers to: any other is refused before, server/hosts.ts).
    const raw = await new Promise<string>((resolve, reject) => {
      const { port } = new URL(url)
      const socket = createConnection({ host: '127.0.0.1', port: Number(port) }, () =>
        socket.end(`GET http://x/api/posts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
      )
      let text = ''
      socket.on('data', (d) => (text += d))
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
    })
    expect(raw).toMatch(/^HTTP\/1\.1 401/)
  })

  it('lets a viewer read but not act; an admin acts', async () => {
    expect((await t.app.inject({ url: '/api/posts', headers: bearer(VIEWER) })).statusCode).toBe(200)
    expect((await t.app.inject({ url: '/metrics', headers: bearer(VIEWER) })).statusCode).toBe(200)
    const ack = (token: string) =>
      t.app.inject({ method: 'POST', url: '/api/alerts/Lumen%3Ax/acknowledge', headers: bearer(token) })
    const refused = await ack(VIEWER)
    expect(refused.statusCode).toBe(403)
    expect(refused.json().error.code).toBe('forbidden')
    // Past the guard: no pipeline runs in this app, so the route itself answers 503.
    expect((await ack(ADMIN)).statusCode).toBe(503)
  })

  it('keeps the page and the probes open: they carry no data', async () => {
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200)
    expect((await t.app.inject({ url: '/readyz' })).statusCode).toBe(200)
    const page = await t.app.inject({ url: '/' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/text\/html/)
  })

  it('exchanges a token for an HttpOnly, same-site cookie that then opens the API; signing out clears it', async () => {
    expect((await t.app.inject({ url: '/api/session' })).statusCode).toBe(401)
    const session = await t.app.inject({ url: '/api/session', headers: bearer(VIEWER) })
    expect(session.json()).toEqual({ access: 'tokens', role: 'viewer' })
    const setCookie = String(session.headers['set-cookie'])
    expect(setCookie).toMatch(/^undertow_token=viewer-0123456789abcdef;/)
    expect(setCookie).toMatch(/HttpOnly/)
    expect(setCookie).toMatch(/SameSite=Strict/)
    const cookie = setCookie.split(';')[0]!
    expect((await t.app.inject({ url: '/api/posts', headers: { cookie } })).statusCode).toBe(200)
    expect((await t.app.inject({ url: '/api/session', headers: { cookie } })).json()).toEqual({
      access: 'tokens',
      role: 'viewer',
    })
    const out = await t.app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie } })
    expect(out.statusCode).toBe(204)
    expect(String(out.headers['set-cookie'])).toMatch(/^undertow_token=;.*Expires=Thu, 01 Jan 1970/)
  })

  it('opens the live stream to a token (auth.token or the cookie), and refuses a connection without one', async () => {
    const attempt = (options: { auth?: Record<string, string>; extraHeaders?: Record<string, string> }) =>
      new Promise<string>((resolve) => {
        const s = connect(url, { transports: ['websocket'], reconnection: false, ...options })
        s.once('snapshot.v1', () => (s.close(), resolve('connected')))
        s.once('connect_error', (error) => (s.close(), resolve(`refused: ${error.message}`)))
      })
    expect(await attempt({})).toMatch(/^refused: unauthorized/)
    expect(await attempt({ auth: { token: 'not-a-token-at-all' } })).toMatch(/^refused: unauthorized/)
    expect(await attempt({ auth: { token: VIEWER } })).toBe('connected')
    expect(await attempt({ extraHeaders: { cookie: `undertow_token=${ADMIN}` } })).toBe('connected')
  })

  it('leaves everything open without tokens, as on a laptop', async () => {
    // The same store, served without tokens (one embedded store a process).
    const open = await buildServer({
      store: t.store,
      view: new LiveView(),
      tracking,
      health: { classifier: 'vader-lexicon', sources: [], stats: () => ({}) },
    })
    try {
      expect((await open.inject({ url: '/api/posts' })).statusCode).toBe(200)
      expect((await open.inject({ url: '/api/session' })).json()).toEqual({ access: 'open', role: 'admin' })
    } finally {
      await open.close()
    }
  })
})

describe('AUTH_TOKENS in the configuration', () => {
  const problems = (value: string, extra: Record<string, string> = {}) => {
    try {
      loadConfig({ AUTH_TOKENS: value, ...extra })
      return []
    } catch (error) {
      return (error as ConfigError).problems
    }
  }
  it('names each bad entry, never showing its token', () => {
    const found = problems('admin:short,boss:0123456789abcdef0,viewer:0123456789abcdef0,admin:0123456789abcdef0')
    expect(found).toEqual([
      'AUTH_TOKENS: entry 1 (admin): the token needs at least 16 characters and no spaces (got 5)',
      'AUTH_TOKENS: entry 2 does not start with a role (expected admin:<token> or viewer:<token>)',
      'AUTH_TOKENS: entry 4 (admin): the same token is given twice',
    ])
    expect(found.join(' ')).not.toMatch(/0123456789abcdef0|short/)
    expect(problems(`admin:${ADMIN}, viewer:${VIEWER}`)).toEqual([])
  })
  it('refuses the webhook token as an access token', () => {
    expect(problems(`admin:${ADMIN}`, { SOURCES: 'webhook', INGEST_TOKEN: ADMIN })).toEqual([
      expect.stringMatching(/^INGEST_TOKEN: the webhook's token must differ/),
    ])
  })
})

describe('rate limits', () => {
  let t: Awaited<ReturnType<typeof testApp>>
  beforeAll(async () => {
    t = await testApp({ access, rateLimits: { perMinute: 5, ingestPerMinute: 100 } })
  })
  afterAll(async () => t?.close())

  it('answers 429 with Retry-After past the limit, per client, and never limits the probes', async () => {
    const get = (headers = {}) => t.app.inject({ url: '/api/posts', headers })
    for (let i = 0; i < 5; i++) expect((await get(bearer(VIEWER))).statusCode).toBe(200)
    const over = await get(bearer(VIEWER))
    expect(over.statusCode).toBe(429)
    expect(over.json()).toEqual({
      error: { code: 'rate_limited', message: expect.stringMatching(/at most 5 a minute/) },
    })
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0)
    // Another token is another client; the same token is the same client however it comes.
    expect((await get(bearer(ADMIN))).statusCode).toBe(200)
    expect((await get({ cookie: `undertow_token=${VIEWER}` })).statusCode).toBe(429)
    expect((await get({ cookie: `undertow_token=${VIEWER}`, authorization: 'Basic junk-1' })).statusCode).toBe(429)
    expect((await get({ authorization: `Bearer ${VIEWER} ` })).statusCode).toBe(429)
    for (let i = 0; i < 20; i++) expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200)
  })

  it('behind a trusted proxy, tells clients apart by X-Forwarded-For, and marks the cookie Secure over https', async () => {
    // The same store, served as behind a proxy (one embedded store a process).
    const proxied = await buildServer({
      store: t.store,
      view: new LiveView(),
      tracking,
      health: { classifier: 'vader-lexicon', sources: [], stats: () => ({}) },
      access,
      rateLimits: { perMinute: 2, ingestPerMinute: 0 },
      trustProxy: true,
    })
    try {
      const from = (client: string) => proxied.inject({ url: '/api/posts', headers: { 'x-forwarded-for': client } })
      expect([
        (await from('203.0.113.1')).statusCode,
        (await from('203.0.113.1')).statusCode,
        (await from('203.0.113.1')).statusCode,
      ]).toEqual([401, 401, 429])
      expect((await from('203.0.113.2')).statusCode).toBe(401)
      // One client holds a whole IPv6 /64: its addresses share one count; another /64 has its own.
      expect([
        (await from('2001:db8:1:2::1')).statusCode,
        (await from('2001:db8:1:2::ffff')).statusCode,
        (await from('2001:db8:1:2:aaaa::9')).statusCode,
      ]).toEqual([401, 401, 429])
      expect((await from('2001:db8:1:3::1')).statusCode).toBe(401)
      const session = await proxied.inject({
        url: '/api/session',
        headers: { ...bearer(VIEWER), 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.3' },
      })
      expect(String(session.headers['set-cookie'])).toMatch(/; Secure/)
    } finally {
      await proxied.close()
    }
    expect(trustProxyOf('')).toBe(false)
    const twoHops = trustProxyOf('2') as (address: string, hop: number) => boolean
    expect([0, 1, 2].map((hop) => twoHops('10.0.0.1', hop))).toEqual([true, true, false])
    expect(trustProxyOf('10.0.0.0/8, 127.0.0.1')).toBe('10.0.0.0/8, 127.0.0.1')
    expect(() => loadConfig({ TRUST_PROXY: 'yes please' })).toThrow(/TRUST_PROXY="yes please"/)
  })

  it('limits guessing tokens by address', async () => {
    const codes: number[] = []
    for (let i = 0; i < 7; i++)
      codes.push(
        (
          await t.app.inject({
            url: '/api/posts',
            remoteAddress: '10.9.8.7',
            headers: bearer(`guess-number-${i}-xxxxxxxx`),
          })
        ).statusCode,
      )
    expect(codes).toEqual([401, 401, 401, 401, 401, 429, 429])
  })
})
