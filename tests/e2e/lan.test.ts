// The wall as a TV in a meeting room opens it: by a host name that is not localhost, over plain
// http (Chromium maps the names to loopback). localhost is a "potentially trustworthy" origin where
// browsers forgive https-only headers; a LAN name is not, so this is where an https upgrade (CSP's
// upgrade-insecure-requests) would leave the wall blank. A name not allowed gets the 403 page.
import type { Browser, Page, Request } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AccessTokens, parseAuthTokens } from '../../server/access.ts'
import { AllowedHosts } from '../../server/hosts.ts'
import { hasChromium, launchBrowser } from '../support/browser.ts'
import { startStack } from '../support/stack.ts'

const VIEWER = 'viewer-lan-0123456789abcdef'

describe.skipIf(!hasChromium)('the wall on a LAN, in Chromium', () => {
  let stack: Awaited<ReturnType<typeof startStack>>
  let browser: Browser
  let port: string

  beforeAll(async () => {
    stack = await startStack({
      speed: 120,
      model: 'lexicon',
      server: {
        allowedHosts: new AllowedHosts('undertow-host'),
        access: new AccessTokens(parseAuthTokens(`viewer:${VIEWER}`).tokens),
      },
    })
    port = new URL(stack.url).port
    browser = await launchBrowser(['--host-resolver-rules=MAP undertow-host 127.0.0.1, MAP rebound.example 127.0.0.1'])
  })
  afterAll(async () => {
    await browser?.close()
    await stack?.stop()
  })

  async function open(url: string): Promise<{ page: Page; requests: Request[]; sockets: string[]; failed: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } })
    const requests: Request[] = []
    const sockets: string[] = []
    const failed: string[] = []
    page.on('request', (r) => requests.push(r))
    page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`))
    page.on('websocket', (ws) => sockets.push(ws.url()))
    // Not waiting for the load event: scripts sent to an https that is not there would hold it.
    await page.goto(url, { waitUntil: 'commit' })
    return { page, requests, sockets, failed }
  }

  it('renders the tiles and goes live over plain http, with no https upgrade, and takes the token out of the address bar', async () => {
    const origin = `http://undertow-host:${port}`
    const { page, requests, sockets, failed } = await open(`${origin}/#/wall?token=${VIEWER}`)
    try {
      // Each look is short: without its scripts the page has no badge, and the poll says what it saw.
      await expect
        .poll(
          () =>
            page
              .getByTestId('connection')
              .textContent({ timeout: 1_000 })
              .catch(() => 'no badge'),
          { timeout: 20_000 },
        )
        .toBe('Live')
      const figure = page.getByTestId('figure-Mentions, 15 min')
      await expect.poll(async () => Number(await figure.textContent()), { timeout: 20_000 }).toBeGreaterThan(0)
      expect(await page.locator('[data-testid=chart] canvas').count()).toBeGreaterThan(0)
      // The page exchanged the token for its cookie: none is left in the address bar.
      expect(page.url()).toBe(`${origin}/#/wall`)
      // Every request and the socket stayed on plain http, on this name.
      expect(requests.length).toBeGreaterThan(2)
      for (const r of requests) expect(r.url(), r.url()).toMatch(new RegExp(`^${origin}/`))
      expect(requests.some((r) => /\/assets\/.+\.js$/.test(r.url()))).toBe(true)
      expect(sockets.length).toBeGreaterThan(0)
      for (const s of sockets) expect(s).toMatch(new RegExp(`^ws://undertow-host:${port}/socket\\.io/`))
      expect(failed).toEqual([])
      const document = requests.find((r) => r.resourceType() === 'document')
      const headers = (await document!.response())!.headers()
      expect(headers['content-security-policy']).not.toContain('upgrade-insecure-requests')
      expect(headers['strict-transport-security']).toBeUndefined()
    } finally {
      await page.close()
    }
  })

  it('refuses a name it is not served under (DNS rebinding): the page says why and how to allow it', async () => {
    const page = await browser.newPage()
    try {
      const response = await page.goto(`http://rebound.example:${port}/#/wall`)
      expect(response?.status()).toBe(403)
      expect(await page.textContent('body')).toMatch(/Host \\?"rebound\.example\\?" is not allowed.*ALLOWED_HOSTS/)
    } finally {
      await page.close()
    }
  })
})
