// The dashboard in a real browser against the real server process, as `npm start` runs it (the
// simulator and the webhook, the embedded store, the bundled model): a backlash posted through the
// webhook raises the wall's banner with its why, and is acknowledged from the page; the explorer's
// filters, pages and CSV export agree with the query's rows; post text with markup in it shows as
// literal text everywhere; the leadership view shows its figures; and the wall survives a restart
// of the server, resynchronising from the snapshot.
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import { parse } from 'csv-parse/sync'
import type { Browser, Page } from 'playwright-core'
import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Clock, Post, ScoredPost } from '../../pipelines/schema.ts'
import { hasChromium, launchBrowser } from '../support/browser.ts'
import { exited, startMain } from '../support/main-process.ts'
import { tmpDir } from '../support/tmp.ts'

const SPEED = 120
const TOKEN = 'e2e-ingest-token-0123456789'
const MINUTE = 60_000
// Markup that must never become markup: it would set window.__pwned if it ran.
const PAYLOAD = '<img src=x onerror="window.__pwned=1"><b>bold</b>'
const BURST_TEXT = (n: number) => `Zorbex charger overheating again, melted my cable ${PAYLOAD} this is awful #${n}`

/** A free loopback port, so the restarted server comes back where the page left it. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  const { port } = server.address() as { port: number }
  await new Promise((ok) => server.close(ok))
  return port
}

describe.skipIf(!hasChromium)('the dashboard in Chromium, on the real server', () => {
  const dir = tmpDir('e2e-dashboard')
  const brandsFile = resolve(dir.path, 'brands.json')
  let env: Record<string, string>
  let main: ReturnType<typeof startMain>
  let url: string
  let browser: Browser
  let page: Page
  let socket: Socket
  // Event time runs SPEED times faster than the clock: the newest post's time, heard once a second, carried forward.
  let watermark = 0
  let heardAt = 0
  const eventNow = () => watermark + (Date.now() - heardAt) * SPEED

  beforeAll(async () => {
    // A fourth brand the simulator never writes about: whatever is said of it comes through the webhook.
    writeFileSync(
      brandsFile,
      JSON.stringify({
        brands: [
          { name: 'Lumen', keywords: ['Lumen', 'Lumen X2'], competitors: ['Corvid', 'Nimbus'] },
          { name: 'Corvid', keywords: ['Corvid'], competitors: ['Lumen'] },
          { name: 'Nimbus', keywords: ['Nimbus'], competitors: ['Lumen'] },
          { name: 'Zorbex', keywords: ['Zorbex'] },
        ],
      }),
    )
    env = {
      DATA_DIR: resolve(dir.path, 'data'),
      PORT: String(await freePort()),
      SIM_SPEED: String(SPEED),
      SOURCES: 'simulator,webhook',
      INGEST_TOKEN: TOKEN,
      BRANDS_FILE: brandsFile,
      BRAND: '',
      COMPETITORS: '',
    }
    main = startMain(env)
    url = await main.url
    socket = io(url, { transports: ['websocket'] })
    socket.on('clock.v1', (c: Clock) => {
      if (c.watermark) [watermark, heardAt] = [Date.parse(c.watermark), Date.now()]
    })
    browser = await launchBrowser()
    page = await browser.newPage({ viewport: { width: 1920, height: 1080 } })
    await page.goto(url)
  }, 60_000)
  afterAll(async () => {
    socket?.close()
    await browser?.close()
    if (main && main.child.exitCode === null) {
      main.child.kill('SIGTERM')
      await exited(main.child)
    }
    dir.remove()
  })

  const post = (n: number, createdAt: number): Post => ({
    id: `webhook:burst-${n}`,
    source: 'webhook',
    url: n % 2 ? 'javascript:alert(1)' : `https://example.invalid/zorbex/${n}`,
    author: { id: `burst-${n}`, handle: `angry${n}`, displayName: `Angry ${n}`, followers: 1_000 + n },
    text: BURST_TEXT(n),
    lang: 'en',
    createdAt: new Date(createdAt).toISOString(),
    engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
    brands: [],
    terms: [],
  })
  let sent = 0
  async function ingest(count: number) {
    const body = Array.from({ length: count }, () => JSON.stringify(post(sent++, eventNow()))).join('\n')
    const res = await fetch(`${url}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${TOKEN}` },
      body,
    })
    expect(res.status).toBe(202)
  }

  /** About 40 complaints an event-minute, until the banner shows an alert about them. */
  async function burstUntil(banner: ReturnType<Page['getByTestId']>) {
    const deadline = Date.now() + 60_000
    while ((await banner.count()) === 0 && Date.now() < deadline) {
      await ingest(10)
      await new Promise((r) => setTimeout(r, 100))
    }
    await expect.poll(() => banner.count()).toBe(1)
  }

  it('goes live, and its numbers change as the simulator runs', async () => {
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 20_000 }).toBe('Live')
    const figure = page.getByTestId('figure-Mentions, 15 min')
    await expect.poll(async () => Number(await figure.textContent()), { timeout: 20_000 }).toBeGreaterThan(0)
    const first = Number(await figure.textContent())
    await expect.poll(async () => Number(await figure.textContent()), { timeout: 20_000 }).not.toBe(first)
    expect(await page.locator('[data-testid=chart] canvas').count()).toBeGreaterThan(0)
  })

  it('raises the banner on a backlash posted through the webhook, with its why, and acknowledges it from the page', async () => {
    // The baselines need 45 minutes of event time before they may alert (22.5 s at this speed).
    await expect.poll(() => watermark, { timeout: 20_000 }).toBeGreaterThan(0)
    const start = watermark
    await expect.poll(() => eventNow() - start, { timeout: 60_000, interval: 500 }).toBeGreaterThan(50 * MINUTE)
    const banner = page.getByTestId('alert').filter({ hasText: 'Zorbex' })
    await burstUntil(banner)
    const text = await banner.textContent()
    expect(text).toMatch(/Zorbex/)
    expect(text).toMatch(/negative/) // the why: the parts that moved, in words
    expect(await banner.locator('.term').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/charger|overheating|melted|cable/)]),
    )
    // The burst's examples, as text: the markup in them shows as typed, and never runs.
    await expect.poll(() => banner.locator('.examples .text').count(), { timeout: 10_000 }).toBeGreaterThan(0)
    expect(await banner.locator('.examples .text').first().textContent()).toContain(PAYLOAD)
    expect(await page.locator('li img, li b, td img, td b').count()).toBe(0)

    await banner.getByRole('button', { name: 'Acknowledge' }).click()
    await expect.poll(() => banner.locator('.ack').textContent(), { timeout: 10_000 }).toBe('Acknowledged')
    // The alerts page reads the stored history: the acknowledgement was stored.
    await page.goto(`${url}/#/alerts`)
    const row = page.getByTestId('alert-row').filter({ hasText: 'Zorbex' })
    await expect.poll(() => row.getByTestId('alert-state').textContent(), { timeout: 10_000 }).toBe('acknowledged')
    await expect
      .poll(async () => (await fetch(`${url}/api/alerts?brand=Zorbex&state=acknowledged`)).json(), { timeout: 10_000 })
      .toMatchObject({ alerts: [{ brand: 'Zorbex', state: 'acknowledged' }] })
  }, 150_000)

  it('explores history: filters in the URL, pages, and a CSV export equal to the query', async () => {
    const from = new Date(eventNow() - 3 * 60 * MINUTE).toISOString()
    const to = new Date(eventNow() + 10 * MINUTE).toISOString()
    const filters = new URLSearchParams({ brand: 'Zorbex', labels: 'negative', from, to })
    await page.goto(`${url}/#/explore?${filters}`)
    await expect.poll(() => page.getByTestId('result-row').count(), { timeout: 15_000 }).toBeGreaterThan(0)
    // The filters came from the URL, and show in the form.
    expect(await page.getByTestId('filter-brand').inputValue()).toBe('Zorbex')
    expect(await page.getByTestId('label-negative').isChecked()).toBe(true)
    // Post text, and a javascript: link, stay inert.
    const cell = page.getByTestId('result-row').first().locator('.text')
    expect(await cell.textContent()).toContain(PAYLOAD)
    expect(await page.locator('td img, td b, a[href^="javascript"]').count()).toBe(0)

    // The whole selection, from the API a page at a time, against the CSV export of the same
    // filters, once the burst's last posts are stored (the selection stops growing).
    const all = async () => {
      const ids: string[] = []
      for (let p = 1; ; p++) {
        const res = (await (await fetch(`${url}/api/posts?${filters}&page=${p}&pageSize=200`)).json()) as {
          posts: ScoredPost[]
        }
        ids.push(...res.posts.map((x) => x.id))
        if (res.posts.length < 200) return ids
      }
    }
    let ids = await all()
    for (let before = -1; before !== ids.length; ) {
      before = ids.length
      await new Promise((r) => setTimeout(r, 1_500))
      ids = await all()
    }
    expect(ids.length).toBeGreaterThan(0)
    await page.reload()
    await expect.poll(() => page.getByTestId('result-count').textContent(), { timeout: 15_000 }).toMatch(/\d+ posts/)
    const href = await page.getByTestId('csv').getAttribute('href')
    const csv = await (await fetch(new URL(href!, url))).text()
    const rows = parse(csv, { columns: true, bom: true }) as Record<string, string>[]
    expect(rows.map((r) => r.id)).toEqual(ids)
    expect(rows[0]!.text).toContain(PAYLOAD)
    // The page counts exactly up to a thousand, and says "at least" beyond.
    const count = (await page.getByTestId('result-count').textContent())!
    if (ids.length <= 1_000) expect(count).toMatch(new RegExp(`^${ids.length} posts`))
    else expect(count).toMatch(/^At least 1000 posts/)

    // The next page goes on where the first stopped, in the same order as the API's.
    if (ids.length > 50) {
      await page.getByTestId('next-page').click()
      await expect
        .poll(() => page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash))
        .toContain('page=2')
      await expect
        .poll(() => page.getByTestId('result-row').first().locator('td').nth(2).textContent(), { timeout: 10_000 })
        .toBe(`@angry${ids[50]!.replace('webhook:burst-', '')}`)
    }

    // The emotions the model read go into the export, show as badges, and filter the selection.
    expect(rows.filter((r) => r.emotions!.split('|').includes('anger')).length).toBeGreaterThan(0)
    await page.getByTestId('emotion-anger').check()
    await expect
      .poll(() => page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash), {
        timeout: 5_000,
      })
      .toContain('emotions=anger')
    await expect
      .poll(() => page.getByTestId('result-row').first().locator('.badge.emotion').allTextContents(), {
        timeout: 10_000,
      })
      .toContain('anger')
    await page.getByTestId('emotion-anger').uncheck()

    // A text search narrows it, and lands in the URL for sharing.
    await page.getByTestId('filter-q').fill('melted')
    await expect
      .poll(() => page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash), {
        timeout: 5_000,
      })
      .toContain('q=melted')
    await page.getByTestId('filter-q').fill('no such words anywhere')
    await expect.poll(() => page.getByTestId('no-results').count(), { timeout: 10_000 }).toBe(1)
  }, 60_000)

  it('shows posts in a language the model does not read as unscored, on the wall and in the explorer', async () => {
    // Written for this test; the sender tags them English, as a poster's locale would.
    const texts = [
      'Der neue Zorbex Lader wird viel zu heiß, das Kabel ist geschmolzen',
      'Mon chargeur Zorbex chauffe beaucoup trop, le câble a fondu hier soir',
      'Zorbex の充電器が熱くなりすぎてケーブルが溶けました',
    ]
    const at = eventNow()
    const body = texts
      .map((text, i) => JSON.stringify({ ...post(9_000 + i, at + i), id: `webhook:foreign-${i}`, text, url: '' }))
      .join('\n')
    const res = await fetch(`${url}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${TOKEN}` },
      body,
    })
    expect(res.status).toBe(202)
    const found = async () =>
      (
        (await (await fetch(`${url}/api/posts?brand=Zorbex&labels=unscored&pageSize=10`)).json()) as {
          posts: ScoredPost[]
        }
      ).posts
    await expect.poll(async () => (await found()).length, { timeout: 15_000 }).toBe(texts.length)
    expect((await found()).map((p) => [p.language, p.sentiment]).sort()).toEqual([
      ['de', undefined],
      ['fr', undefined],
      ['ja', undefined],
    ])

    // The wall's sentiment tile counts them apart, in no share.
    await page.goto(`${url}/#/wall`)
    await page.getByRole('navigation', { name: 'Brand' }).getByRole('button', { name: 'Zorbex' }).click()
    await expect.poll(() => page.getByTestId('unscored').textContent(), { timeout: 15_000 }).toMatch(/^\+ 3 unscored/)

    // The explorer finds them by the unscored filter, and marks each with its language.
    await page.goto(
      `${url}/#/explore?${new URLSearchParams({ brand: 'Zorbex', labels: 'unscored', from: new Date(at - MINUTE).toISOString(), to: new Date(at + MINUTE).toISOString() })}`,
    )
    await expect.poll(() => page.getByTestId('result-row').count(), { timeout: 15_000 }).toBe(texts.length)
    expect(await page.getByTestId('label-unscored').isChecked()).toBe(true)
    expect((await page.getByTestId('result-row').locator('.badge.unscored').allTextContents()).sort()).toEqual([
      'unscored · de',
      'unscored · fr',
      'unscored · ja',
    ])
  }, 60_000)

  it('gives leadership its headline figures with their change against the period before', async () => {
    await page.goto(`${url}/#/leadership`)
    // Zorbex is heard of only through the burst: its figures hold still while the page is read.
    await page.getByRole('button', { name: 'Zorbex' }).click()
    const metrics = (await (await fetch(`${url}/api/metrics?brand=Zorbex&window=24h`)).json()) as {
      posts: number
      netSentiment: number
    }
    const headline = (label: string) => page.getByTestId(`headline-${label}`)
    await expect
      .poll(() => headline('Mentions').locator('.value').textContent(), { timeout: 15_000 })
      .toBe(String(metrics.posts))
    // The day before had none of them: each figure is new, or has nothing to compare with.
    expect(await headline('Mentions').locator('.delta').textContent()).toMatch(/new$/)
    expect(await headline('Net sentiment').locator('.value').textContent()).toBe(
      `${metrics.netSentiment < 0 ? '−' : '+'}${Math.abs(metrics.netSentiment).toFixed(2)}`,
    )
    expect(await headline('Net sentiment').locator('.delta').textContent()).toMatch(/no earlier figure$/)
  })

  it('survives a restart of the server: it says so, reconnects, and resynchronises', async () => {
    await page.goto(`${url}/#/wall`)
    await page.getByRole('button', { name: 'Lumen' }).click()
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 15_000 }).toBe('Live')
    // An alert open when it stops: the earlier one has resolved by now (five calm event-minutes
    // are a few seconds here), and a critical burst raises a new one at once.
    await burstUntil(page.getByTestId('alert').filter({ hasText: 'Zorbex' }))
    main.child.kill('SIGTERM')
    const code = await exited(main.child)
    expect(code, main.output().slice(-4_000)).toBe(0)
    await expect
      .poll(() => page.getByTestId('connection').textContent(), { timeout: 15_000 })
      .toMatch(/Reconnecting|Offline/)
    // While it is down, the operator adds a brand: only a fresh snapshot can tell the page.
    const brands = JSON.parse(readFileSync(brandsFile, 'utf8'))
    brands.brands.push({ name: 'Quasar', keywords: ['Quasar'] })
    writeFileSync(brandsFile, JSON.stringify(brands))
    expect(await page.getByRole('button', { name: 'Quasar' }).count()).toBe(0)
    // Slower after the restart, so the alert has not calmed down and resolved before it is looked for.
    main = startMain({ ...env, SIM_SPEED: '10' })
    expect(await main.url).toBe(url)
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 30_000 }).toBe('Live')
    // From the snapshot: the brands as they are now, the figures, and the alert still open
    // (acknowledged) on the banner.
    await expect.poll(() => page.getByRole('button', { name: 'Quasar' }).count(), { timeout: 10_000 }).toBe(1)
    await expect
      .poll(async () => Number(await page.getByTestId('figure-Mentions, 15 min').textContent()), { timeout: 20_000 })
      .toBeGreaterThan(0)
    await expect
      .poll(() => page.getByTestId('alert').filter({ hasText: 'Zorbex' }).count(), { timeout: 20_000 })
      .toBe(1)
    const stored = (await (await fetch(`${url}/api/alerts?brand=Zorbex`)).json()) as {
      alerts: { state: string; title: string }[]
    }
    expect(await page.getByTestId('alert').filter({ hasText: 'Zorbex' }).locator('h2').textContent()).toBe(
      stored.alerts.find((a) => a.state !== 'resolved')?.title,
    )
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined()
  }, 90_000)
})
