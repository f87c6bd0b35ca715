// CORS_ORIGINS: pages of the sites it names may call the API, acknowledge alerts and open the live
// stream; every other site's page is kept out, and without it no cross-origin header is sent.
import { io as connect } from 'socket.io-client'
import { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../server/config.ts'
import { buildServer } from '../../server/app.ts'
import { tracking } from '../support/fixtures.ts'
import { testApp } from '../support/server.ts'

const INTRANET = 'https://intranet.example'
const EVIL = 'https://evil.example'

describe('cross-origin access', () => {
  let t: Awaited<ReturnType<typeof testApp>>
  // The same store, served without CORS_ORIGINS (one embedded store a process).
  let plain: Awaited<ReturnType<typeof buildServer>>
  let url: string
  beforeAll(async () => {
    t = await testApp({ corsOrigins: [INTRANET] })
    plain = await buildServer({
      store: t.store,
      view: new LiveView(),
      tracking,
      health: { classifier: 'vader-lexicon', sources: [], stats: () => ({}) },
    })
    url = await t.app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await plain?.close()
    await t?.close()
  })

  const preflight = (app: typeof t.app, origin: string) =>
    app.inject({
      method: 'OPTIONS',
      url: '/api/alerts/Lumen%3Ax/acknowledge',
      headers: { origin, 'access-control-request-method': 'POST' },
    })

  it('answers the pages of the listed sites, and no other', async () => {
    expect((await preflight(t.app, INTRANET)).headers['access-control-allow-origin']).toBe(INTRANET)
    expect((await preflight(t.app, EVIL)).headers['access-control-allow-origin']).toBeUndefined()
    expect(
      (await t.app.inject({ url: '/api/posts', headers: { origin: INTRANET } })).headers['access-control-allow-origin'],
    ).toBe(INTRANET)
    // Without CORS_ORIGINS, no site is answered.
    expect(
      (await plain.inject({ url: '/api/posts', headers: { origin: INTRANET } })).headers['access-control-allow-origin'],
    ).toBeUndefined()
  })

  it('lets a listed site acknowledge (here no pipeline runs: 503), and refuses the others (403)', async () => {
    const ack = (origin: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/alerts/Lumen%3Ax/acknowledge',
        headers: { origin, host: 'localhost:3000' },
      })
    expect((await ack(INTRANET)).statusCode).toBe(503)
    expect((await ack(EVIL)).statusCode).toBe(403)
  })

  it('opens the live stream to a listed site, not to others', async () => {
    const attempt = (origin: string) =>
      new Promise<string>((resolve) => {
        const s = connect(url, { transports: ['websocket'], reconnection: false, extraHeaders: { origin } })
        s.once('snapshot.v1', () => (s.close(), resolve('connected')))
        s.once('connect_error', () => (s.close(), resolve('refused')))
      })
    expect(await attempt(INTRANET)).toBe('connected')
    expect(await attempt(EVIL)).toBe('refused')
  })

  it('stops start-up on a CORS_ORIGINS entry that is not an origin, naming it', () => {
    expect(() => loadConfig({ CORS_ORIGINS: 'https://ok.example,intranet.example/path' })).toThrow(
      /CORS_ORIGINS: "intranet.example\/path" is not an origin/,
    )
    expect(() => loadConfig({ CORS_ORIGINS: 'https://ok.example/,http://10.0.0.5:8080' })).not.toThrow()
  })
})
