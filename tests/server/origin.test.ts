// The origin check of the live stream and of acknowledging an alert: a page may act when it is of
// the host the browser used. Behind a proxy that is the forwarded host (X-Forwarded-Host, else the
// Host it passes), believed only from a proxy TRUST_PROXY trusts; default ports count as none.
import { io as connect } from 'socket.io-client'
import { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildServer } from '../../server/app.ts'
import { originAllowed } from '../../server/origin.ts'
import { tracking } from '../support/fixtures.ts'
import { testApp } from '../support/server.ts'

describe('originAllowed', () => {
  it("takes the browser's own host, with the scheme's default port or without", () => {
    expect(originAllowed('http://wall.example:8080', 'wall.example:8080', 'http', [])).toBe(true)
    expect(originAllowed('http://wall.example', 'wall.example:80', 'http', [])).toBe(true)
    expect(originAllowed('https://wall.example', 'wall.example:443', 'https', [])).toBe(true)
    expect(originAllowed('https://Wall.Example:443', 'wall.example', 'https', [])).toBe(true)
    expect(originAllowed('http://[::1]:3000', '[::1]:3000', 'http', [])).toBe(true)
    // Tools name no origin; CORS_ORIGINS names other sites.
    expect(originAllowed(undefined, 'wall.example', 'http', [])).toBe(true)
    expect(originAllowed('https://intranet.example', 'wall.example', 'http', ['https://intranet.example'])).toBe(true)
  })

  it('refuses any other origin: another host or port, no host, a sandboxed page, a host that is not one', () => {
    expect(originAllowed('http://wall.example:8080', 'wall.example', 'http', [])).toBe(false)
    expect(originAllowed('http://wall.example', 'wall.example:443', 'http', [])).toBe(false)
    expect(originAllowed('https://evil.example', 'wall.example', 'https', [])).toBe(false)
    expect(originAllowed('http://wall.example.evil.example', 'wall.example', 'http', [])).toBe(false)
    expect(originAllowed('http://wall.example', undefined, 'http', [])).toBe(false)
    expect(originAllowed('http://wall.example', '', 'http', [])).toBe(false)
    expect(originAllowed('http://evil.example', 'evil.example/path@wall.example', 'http', [])).toBe(false)
    expect(originAllowed('null', 'wall.example', 'http', [])).toBe(false)
    expect(originAllowed('file://wall.example', 'wall.example', 'http', [])).toBe(false)
  })
})

describe('the origin check behind a proxy', () => {
  // The app trusts the proxy at 127.0.0.1 (where the tests connect from) or one elsewhere.
  let trusted: Awaited<ReturnType<typeof testApp>>
  // The same store, behind a proxy elsewhere (one embedded store a process).
  let untrusted: Awaited<ReturnType<typeof buildServer>>
  const urls: string[] = []
  beforeAll(async () => {
    trusted = await testApp({ trustProxy: '127.0.0.1' })
    untrusted = await buildServer({
      store: trusted.store,
      view: new LiveView(),
      tracking,
      health: { classifier: 'vader-lexicon', sources: [], stats: () => ({}) },
      trustProxy: '10.0.0.1',
    })
    for (const app of [trusted.app, untrusted]) urls.push(await app.listen({ port: 0, host: '127.0.0.1' }))
  })
  afterAll(async () => {
    await untrusted?.close()
    await trusted?.close()
  })

  const attempt = (url: string, headers: Record<string, string>) =>
    new Promise<string>((resolve) => {
      const s = connect(url, { transports: ['websocket'], reconnection: false, extraHeaders: headers })
      s.once('snapshot.v1', () => (s.close(), resolve('connected')))
      s.once('connect_error', (e) => (s.close(), resolve(`refused: ${e.message}`)))
    })

  it('opens the stream to a page of the forwarded host, from a trusted proxy only', async () => {
    const page = {
      origin: 'http://wall.example:8080',
      'x-forwarded-host': 'wall.example:8080',
      'x-forwarded-proto': 'http',
    }
    expect(await attempt(urls[0]!, page)).toBe('connected')
    // The default port a proxy names, or leaves out, is the same host.
    expect(
      await attempt(urls[0]!, {
        origin: 'https://wall.example',
        'x-forwarded-host': 'wall.example:443',
        'x-forwarded-proto': 'https',
      }),
    ).toBe('connected')
    // A foreign page stays out, forwarded host or not.
    expect(await attempt(urls[0]!, { ...page, origin: 'http://evil.example:8080' })).toMatch(/^refused/)
    // A client that is no trusted proxy cannot name the host it likes: its own Host counts.
    expect(await attempt(urls[1]!, page)).toMatch(/^refused/)
    expect(await attempt(urls[1]!, { origin: urls[1]! })).toBe('connected')
  })

  it('lets a page of the forwarded host acknowledge (no pipeline here: 503), and refuses a foreign one (403)', async () => {
    const ack = (app: typeof untrusted, headers: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/api/alerts/Lumen%3Ax/acknowledge',
        remoteAddress: '127.0.0.1',
        headers: { host: '127.0.0.1:3000', ...headers },
      })
    const page = { origin: 'http://wall.example:8080', 'x-forwarded-host': 'wall.example:8080' }
    expect((await ack(trusted.app, page)).statusCode).toBe(503)
    expect((await ack(trusted.app, { ...page, origin: 'http://evil.example:8080' })).statusCode).toBe(403)
    expect((await ack(untrusted, page)).statusCode).toBe(403)
  })
})
