// The wall in a real browser, on the in-process stack: it connects, its numbers move as the
// simulator runs, and post text with markup in it shows as literal text in the ticker. The whole
// dashboard against the real server process is tests/e2e/dashboard.test.ts.
import { Subject } from 'rxjs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SourceEvent } from '../../pipelines/schema.ts'
import { hasChromium, launchBrowser } from '../support/browser.ts'
import { startStack } from '../support/stack.ts'

describe.skipIf(!hasChromium)('the wall in Chromium', () => {
  const injected = new Subject<SourceEvent>()
  let stack: Awaited<ReturnType<typeof startStack>>
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    stack = await startStack({ speed: 120, extra: injected })
    browser = await launchBrowser()
    page = await browser.newPage({ viewport: { width: 1920, height: 1080 } })
    await page.goto(stack.url)
  })
  afterAll(async () => {
    injected.complete()
    await browser?.close()
    await stack?.stop()
  })

  it('shows it is live and its numbers change as posts arrive', async () => {
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 15_000 }).toBe('Live')
    const figure = page.getByTestId('figure-Mentions, 15 min')
    await expect.poll(async () => Number(await figure.textContent()), { timeout: 15_000 }).toBeGreaterThan(0)
    const first = Number(await figure.textContent())
    await expect.poll(async () => Number(await figure.textContent()), { timeout: 15_000 }).not.toBe(first)
    expect(await page.locator('[data-testid=chart] canvas').count()).toBeGreaterThan(0)
  })

  it('renders post text as text, never as HTML', async () => {
    // A question, so it belongs in the ticker of the middle.
    const text = 'Lumen <img src=x onerror="window.__pwned=1"><b>bold</b> how do I turn this off?'
    const post = (id: string): SourceEvent => ({
      kind: 'post',
      post: {
        id,
        source: 'webhook',
        url: '',
        author: { id: 'x', handle: 'mallory', displayName: 'M', followers: 1 },
        text,
        lang: 'en',
        createdAt: new Date().toISOString(),
        engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
        brands: [],
        terms: [],
      },
    })
    // The ticker shows the dozen newest arrivals and the simulator floods it at speed 120: the post
    // goes in again until a copy is on screen.
    let copies = 0
    const again = setInterval(() => injected.next(post(`webhook:xss-${copies++}`)), 250)
    const item = page.locator('li', { hasText: '@mallory' })
    try {
      await expect.poll(() => item.count(), { timeout: 20_000 }).toBeGreaterThan(0)
      expect(await item.first().locator('.text').textContent()).toBe(text)
    } finally {
      clearInterval(again)
    }
    expect(await page.locator('li img, li b').count()).toBe(0)
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined()
  })
})
