// Helmet's headers, with https's own only over https: over plain http (a wall on a LAN) neither
// HSTS nor `upgrade-insecure-requests`, which would send the browser to an https that is not there;
// over https (a trusted proxy's X-Forwarded-Proto, TRUST_PROXY) both, as helmet's defaults have it.
import { describe, expect, it } from 'vitest'
import { testApp } from '../support/server.ts'

const https = { 'x-forwarded-proto': 'https' }

/** Each app in turn (the embedded store is one per process). */
async function withApp(
  trustProxy: string | undefined,
  body: (t: Awaited<ReturnType<typeof testApp>>) => Promise<void>,
) {
  const t = await testApp(trustProxy ? { trustProxy } : {})
  try {
    await body(t)
  } finally {
    await t.close()
  }
}

describe('security headers', () => {
  it('over plain http: the content security policy without upgrade-insecure-requests, and no HSTS', async () => {
    for (const trustProxy of [undefined, '127.0.0.1'])
      await withApp(trustProxy, async (t) => {
        for (const url of ['/', '/healthz', '/api/posts']) {
          const res = await t.app.inject({ url })
          const csp = String(res.headers['content-security-policy'])
          expect(csp).toContain("script-src 'self'")
          expect(csp).toContain("frame-ancestors 'self'")
          expect(csp).not.toContain('upgrade-insecure-requests')
          expect(res.headers['strict-transport-security']).toBeUndefined()
          expect(res.headers['x-content-type-options']).toBe('nosniff')
        }
      })
  })

  it('over https from a trusted proxy: HSTS and upgrade-insecure-requests; the header from anyone else is not believed', async () => {
    await withApp('127.0.0.1', async (t) => {
      const res = await t.app.inject({ url: '/healthz', headers: https, remoteAddress: '127.0.0.1' })
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains')
      const csp = String(res.headers['content-security-policy'])
      expect(csp).toMatch(/;upgrade-insecure-requests$/)
      expect(csp).toContain("script-src 'self'")
      // A proxy other than the trusted one.
      const other = await t.app.inject({ url: '/healthz', headers: https, remoteAddress: '10.9.9.9' })
      expect(other.headers['strict-transport-security']).toBeUndefined()
      expect(String(other.headers['content-security-policy'])).not.toContain('upgrade-insecure-requests')
      // On a real connection too.
      const url = await t.app.listen({ port: 0, host: '127.0.0.1' })
      expect((await fetch(`${url}/healthz`)).headers.get('strict-transport-security')).toBeNull()
      expect((await fetch(`${url}/healthz`, { headers: https })).headers.get('strict-transport-security')).toMatch(
        /^max-age=/,
      )
    })
    // Without TRUST_PROXY anyone could send the header: not believed.
    await withApp(undefined, async (t) => {
      const untrusted = await t.app.inject({ url: '/healthz', headers: https, remoteAddress: '127.0.0.1' })
      expect(untrusted.headers['strict-transport-security']).toBeUndefined()
    })
  })
})
