import { mkdirSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScoredPost } from '../../pipelines/schema.ts'
import { MiddleClassifier } from '../../models/middle-classifier.ts'
import { MIDDLE_MODEL } from '../../models/middle-model.ts'
import { postsOf, runThrough, simulated, sourceOf } from '../support/fixtures.ts'
import { HEALTH_PING_MS } from '../../server/routes/health.ts'
import { testApp } from '../support/server.ts'
import { tmpDir } from '../support/tmp.ts'

const client = tmpDir('client')
mkdirSync(client.path, { recursive: true })
writeFileSync(resolve(client.path, 'index.html'), '<!doctype html><title>Undertow wall</title>')
let t: Awaited<ReturnType<typeof testApp>>

beforeAll(async () => {
  t = await testApp({ clientRoot: client.path })
  // The shipped classifier, so that the posts carry emotions to filter on.
  const classifier = await MiddleClassifier.load(MIDDLE_MODEL)
  await runThrough(t.store, sourceOf(simulated(20 * 60)), classifier).finally(() => classifier.close())
})
afterAll(async () => {
  await t.close()
  client.remove()
})

describe('HTTP routes', () => {
  it('GET /healthz reports the store, classifier, sources and pipeline', async () => {
    const res = await t.app.inject('/healthz')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({
      status: 'ok',
      store: { mode: 'embedded', up: true, recounts: { runs: 0, failures: 0, pending: false } },
      classifier: 'vader-lexicon',
      sources: ['simulator'],
      pipeline: { received: 0 },
    })
  })

  it('sends security headers: the page runs only its own scripts, is not framed, is not sniffed', async () => {
    const res = await t.app.inject('/healthz')
    expect(res.headers['content-security-policy']).toContain("script-src 'self'")
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'self'")
    expect(res.headers['x-content-type-options']).toBe('nosniff')
  })

  it('GET /healthz is liveness: 200 while the store does not answer, or hangs, saying so in the body', async () => {
    const ping = t.store.ping
    try {
      // Down: the process is alive (spooling, say) and must not be restarted for it.
      t.store.ping = async () => false
      const down = await t.app.inject('/healthz')
      expect(down.statusCode).toBe(200)
      expect(down.json()).toMatchObject({ status: 'degraded', store: { up: false }, pipeline: { received: 0 } })
      // Hanging: the probe still answers, within its own short timeout.
      t.store.ping = () => new Promise<boolean>(() => {})
      const started = Date.now()
      const hung = await t.app.inject('/healthz')
      expect(Date.now() - started).toBeLessThan(HEALTH_PING_MS + 400)
      expect(hung.statusCode).toBe(200)
      expect(hung.json()).toMatchObject({
        status: 'degraded',
        store: { up: false, slow: `no answer within ${HEALTH_PING_MS} ms` },
      })
    } finally {
      t.store.ping = ping
    }
  })

  it('GET /readyz is 503 until the pipeline runs and while the store does not answer, saying what is missing', async () => {
    // This app's pipeline stats say it has received nothing yet: it runs.
    expect((await t.app.inject('/readyz')).json()).toEqual({ ready: true, classifier: 'vader-lexicon' })
    const ping = t.store.ping
    t.store.ping = async () => false
    try {
      const res = await t.app.inject('/readyz')
      expect(res.statusCode).toBe(503)
      expect(res.json()).toEqual({ ready: false, classifier: 'vader-lexicon', missing: ['the store does not answer'] })
    } finally {
      t.store.ping = ping
    }
  })

  it('GET /api/aggregates returns the stored windows, filtered by brand and range', async () => {
    const all = (await t.app.inject('/api/aggregates')).json().windows
    expect(all).toEqual(await t.store.minuteAggregates({}))
    expect(all.length).toBeGreaterThan(20)
    const lumen = (
      await t.app.inject('/api/aggregates?brand=Lumen&from=2026-11-23T09:05:00Z&to=2026-11-23T09:10:00Z')
    ).json().windows
    expect(lumen.map((w: { minute: string }) => w.minute)).toEqual(
      ['09:05', '09:06', '09:07', '09:08', '09:09'].map((m) => `2026-11-23T${m}:00.000Z`),
    )
    expect(lumen.every((w: { brand: string }) => w.brand === 'Lumen')).toBe(true)
    // The brand's own posts name its product but are not mentions of it.
    const posts = postsOf(simulated(20 * 60)).filter(
      (p) =>
        p.text.includes('Lumen') &&
        !p.author.id.startsWith('sim-brand-') &&
        p.createdAt >= '2026-11-23T09:05' &&
        p.createdAt < '2026-11-23T09:10',
    )
    expect(lumen.reduce((n: number, w: { posts: number }) => n + w.posts, 0)).toBe(posts.length)
    const hours = (await t.app.inject('/api/aggregates?brand=Lumen&bucket=hour')).json().windows as {
      minute: string
      posts: number
    }[]
    expect(hours.map((w) => w.minute)).toEqual(['2026-11-23T09:00:00.000Z'])
    expect(hours[0]!.posts).toBe(
      all
        .filter((w: { brand: string }) => w.brand === 'Lumen')
        .reduce((n: number, w: { posts: number }) => n + w.posts, 0),
    )
    const last = (await t.app.inject('/api/aggregates?lastMinutes=2')).json().windows
    expect(new Set(last.map((w: { minute: string }) => w.minute)).size).toBe(2)
    expect((await t.app.inject('/api/aggregates?source=simulator')).json().windows).toEqual(all)
    expect((await t.app.inject('/api/aggregates?source=mastodon')).json().windows).toEqual([])
    expect((await t.app.inject('/api/aggregates?source=myspace')).statusCode).toBe(400)
  })

  it('rejects a bad query in the one error shape, saying what is wrong', async () => {
    const res = await t.app.inject('/api/aggregates?from=yesterday')
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ error: { code: 'bad_request', message: expect.stringContaining('from') } })
    const injection = await t.app.inject(`/api/aggregates?brand=${encodeURIComponent("Lumen' OR 1=1 --")}`)
    expect(injection.json()).toEqual({ windows: [] })
  })

  it('GET /api/posts finds middle feedback by brand, flags, intents and text, newest first, in pages', async () => {
    const search = async (query: string) => {
      const res = await t.app.inject(`/api/posts?${query}`)
      expect(res.statusCode, res.body).toBe(200)
      return res.json() as { total: number; page: number; pageSize: number; posts: ScoredPost[] }
    }
    const all = await search('brand=Lumen&pageSize=200&page=1')
    expect(all.total).toBeGreaterThan(100)
    expect(all).toMatchObject({ totalCapped: false })
    expect(all.posts.every((p) => p.brands.includes('Lumen'))).toBe(true)
    const times = all.posts.map((p) => p.createdAt)
    expect(times).toEqual([...times].sort().reverse())

    const middle = await search('brand=Lumen&labels=neutral,negative&intents=question,suggestion&pageSize=200')
    expect(middle.total).toBeGreaterThan(0)
    for (const p of middle.posts) {
      expect(['neutral', 'negative']).toContain(p.sentiment!.label)
      expect(p.sentiment!.intents.some((i) => i === 'question' || i === 'suggestion')).toBe(true)
    }
    const joyful = await search('brand=Lumen&emotions=joy,optimism&pageSize=200')
    expect(joyful.total).toBeGreaterThan(0)
    expect(joyful.total).toBeLessThan(all.total)
    for (const p of joyful.posts) expect(p.sentiment!.emotions.some((e) => e === 'joy' || e === 'optimism')).toBe(true)
    const mixed = await search('mixed=true&pageSize=200')
    expect(mixed.posts.length).toBeGreaterThan(0)
    expect(mixed.posts.every((p) => p.sentiment!.mixed)).toBe(true)

    const battery = await search('q=BATTERY&pageSize=200')
    expect(battery.total).toBeGreaterThan(0)
    expect(battery.posts.every((p) => p.text.toLowerCase().includes('battery'))).toBe(true)

    const first = await search('brand=Lumen&pageSize=20&page=1')
    const second = await search('brand=Lumen&pageSize=20&page=2')
    expect(first.total).toBe(all.total)
    expect(second.posts.map((p) => p.id)).toEqual(all.posts.slice(20, 40).map((p) => p.id))
    expect(first.posts.map((p) => p.id)).toEqual(all.posts.slice(0, 20).map((p) => p.id))

    // Stored posts come back as they went in.
    const stored = postsOf(simulated(20 * 60)).find((p) => p.id === all.posts[0]!.id)!
    expect(all.posts[0]).toMatchObject({
      id: stored.id,
      text: stored.text,
      createdAt: stored.createdAt,
      author: stored.author,
    })

    expect((await search(`q=${encodeURIComponent("' OR 1=1 --")}`)).total).toBe(0)
    const bad = await t.app.inject('/api/posts?labels=angry')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.message).toContain('labels')
    const badEmotion = await t.app.inject('/api/posts?emotions=joy,rage')
    expect(badEmotion.statusCode).toBe(400)
    expect(badEmotion.json().error.message).toContain('emotions')
    expect((await t.app.inject('/api/posts?pageSize=1000')).statusCode).toBe(400)
  })

  it('GET /api/posts?ids= gives those posts, and refuses too many ids or an empty one, saying why', async () => {
    const some = (await t.app.inject('/api/posts?brand=Lumen&pageSize=5')).json().posts as ScoredPost[]
    const ids = some.map((p) => p.id)
    const res = await t.app.inject(`/api/posts?ids=${encodeURIComponent([ids[3], ids[0], 'simulator:nope'].join(','))}`)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ total: 2, totalCapped: false })
    expect(res.json().posts.map((p: ScoredPost) => p.id)).toEqual([ids[0], ids[3]])
    const tooMany = await t.app.inject(
      `/api/posts?ids=${Array.from({ length: 51 }, (_, i) => `simulator:${i}`).join(',')}`,
    )
    expect(tooMany.statusCode).toBe(400)
    expect(tooMany.json()).toEqual({ error: { code: 'bad_request', message: 'ids: 51 ids given; at most 50' } })
    const empty = await t.app.inject('/api/posts?ids=simulator:1,,simulator:2')
    expect(empty.statusCode).toBe(400)
    expect(empty.json().error.message).toBe('ids: an empty id (two commas in a row, or one at an end)')
  })

  it('GET /api/posts/series counts the selection per minute or hour, adding up to the search, and refuses a range too wide', async () => {
    const series = async (query: string) => {
      const res = await t.app.inject(`/api/posts/series?${query}`)
      expect(res.statusCode, res.body).toBe(200)
      return res.json().buckets as {
        minute: string
        posts: number
        negative: number
        neutral: number
        positive: number
      }[]
    }
    const filter = 'brand=Lumen&labels=negative,neutral&from=2026-11-23T09:02:30Z&to=2026-11-23T09:15:00Z'
    const minutes = await series(filter)
    expect(minutes.map((b) => b.minute)).toEqual(
      Array.from({ length: 13 }, (_, i) => `2026-11-23T09:${String(i + 2).padStart(2, '0')}:00.000Z`),
    )
    const search = (await t.app.inject(`/api/posts?${filter}&pageSize=200`)).json()
    expect(search.totalCapped).toBe(false)
    expect(minutes.reduce((n, b) => n + b.posts, 0)).toBe(search.total)
    expect(minutes.reduce((n, b) => n + b.negative, 0)).toBe(
      search.posts.filter((p: ScoredPost) => p.sentiment!.label === 'negative').length,
    )
    expect(minutes.every((b) => b.posts === b.negative + b.neutral + b.positive && b.positive === 0)).toBe(true)
    expect(await series(`${filter}&bucket=hour`)).toEqual([
      {
        minute: '2026-11-23T09:00:00.000Z',
        posts: search.total,
        negative: minutes.reduce((n, b) => n + b.negative, 0),
        neutral: minutes.reduce((n, b) => n + b.neutral, 0),
        positive: 0,
        unscored: 0,
      },
    ])
    // Open-ended: the stored posts bound it.
    expect((await series('bucket=hour')).map((b) => b.minute)).toEqual(['2026-11-23T09:00:00.000Z'])
    const tooWide = await t.app.inject('/api/posts/series?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z')
    expect(tooWide.statusCode).toBe(400)
    expect(tooWide.json().error.message).toBe(
      '84960 buckets asked for; at most 10080 (use bucket=hour, or a shorter range)',
    )
    expect(
      (await t.app.inject('/api/posts/series?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&bucket=hour'))
        .statusCode,
    ).toBe(200)
    const backwards = await t.app.inject('/api/posts/series?from=2026-11-23T10:00:00Z&to=2026-11-23T09:00:00Z')
    expect(backwards.statusCode).toBe(400)
    expect(backwards.json().error.message).toBe(
      'from (2026-11-23T10:00:00.000Z) must be before to (2026-11-23T09:00:00.000Z)',
    )
    expect((await t.app.inject('/api/posts/series?bucket=day')).statusCode).toBe(400)
  })

  it('GET /api/posts.csv takes the same filters and refuses a bad one in the one error shape', async () => {
    const res = await t.app.inject(
      '/api/posts.csv?brand=Lumen&intents=question&from=2026-11-23T09:00:00Z&to=2026-11-23T09:10:00Z',
    )
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-disposition']).toBe(
      'attachment; filename="undertow-posts-2026-11-23T090000Z-2026-11-23T091000Z.csv"',
    )
    const search = (
      await t.app.inject(
        '/api/posts?brand=Lumen&intents=question&from=2026-11-23T09:00:00Z&to=2026-11-23T09:10:00Z&pageSize=200',
      )
    ).json()
    expect(search).toMatchObject({ totalCapped: false, total: expect.any(Number) })
    expect(search.total).toBeGreaterThan(0)
    expect((parse(res.body, { bom: true, columns: true }) as { id: string }[]).map((r) => r.id)).toEqual(
      search.posts.map((p: ScoredPost) => p.id),
    )
    const bad = await t.app.inject('/api/posts.csv?labels=angry')
    expect(bad.statusCode).toBe(400)
    expect(bad.headers['content-type']).toContain('application/json')
    expect(bad.json().error.message).toContain('labels')
    const badEmotion = await t.app.inject('/api/posts?emotions=joy,rage')
    expect(badEmotion.statusCode).toBe(400)
    expect(badEmotion.json().error.message).toContain('emotions')
  })

  it("GET /api/response-times reports the brand's reply rate and times to first reply", async () => {
    const res = await t.app.inject('/api/response-times?brand=Lumen')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual(await t.store.responseTimes({ brand: 'Lumen' }))
    expect(res.json().mentions).toBeGreaterThan(0)
    expect((await t.app.inject('/api/response-times')).statusCode).toBe(400)
  })

  it("GET /api/metrics gives a brand's window from history, ending with the newest stored minute", async () => {
    const res = await t.app.inject('/api/metrics?brand=Lumen&window=15m')
    expect(res.statusCode).toBe(200)
    const m = res.json()
    const newest = Date.parse((await t.store.latestPostTime())!)
    expect(Date.parse(m.to)).toBe(Math.ceil((newest + 1) / 60_000) * 60_000)
    expect(Date.parse(m.to) - Date.parse(m.from)).toBe(15 * 60_000)
    expect(m).toEqual(
      await t.store.metrics({ brand: 'Lumen', rivals: ['Corvid', 'Nimbus'], window: '15m', from: m.from, to: m.to }),
    )
    expect(m.posts).toBeGreaterThan(0)
    const earlier = (
      await t.app.inject(`/api/metrics?brand=Lumen&window=1m&source=simulator&to=${encodeURIComponent(m.from)}`)
    ).json()
    expect(earlier).toMatchObject({ brand: 'Lumen', source: 'simulator', window: '1m', to: m.from })
    const unknown = await t.app.inject('/api/metrics?brand=Acme')
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().error.message).toContain('"Acme" is not tracked')
    expect((await t.app.inject('/api/metrics?brand=Lumen&window=2h')).statusCode).toBe(400)
  })

  it('GET /api/metrics/series gives a window per minute or hour, and refuses a range too long for its bucket', async () => {
    const newest = Date.parse((await t.store.latestPostTime())!)
    const to = new Date(Math.ceil((newest + 1) / 60_000) * 60_000).toISOString()
    const from = new Date(Date.parse(to) - 30 * 60_000).toISOString()
    const res = await t.app.inject(`/api/metrics/series?brand=Lumen&from=${from}&to=${to}`)
    expect(res.statusCode).toBe(200)
    const { series } = res.json()
    expect(series).toEqual(await t.store.metricSeries({ brand: 'Lumen', rivals: ['Corvid', 'Nimbus'], from, to }))
    expect(series.length).toBeGreaterThan(10)
    expect(series.every((m: { window: string }) => m.window === '1m')).toBe(true)
    const tooLong = await t.app.inject(
      `/api/metrics/series?brand=Lumen&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z`,
    )
    expect(tooLong.statusCode).toBe(400)
    expect(tooLong.json().error.message).toBe(
      '84960 buckets asked for; at most 10080 (use bucket=hour, or a shorter range)',
    )
    expect((await t.app.inject(`/api/metrics/series?brand=Lumen&from=${to}&to=${from}`)).statusCode).toBe(400)
  })

  it("GET /api/dialogue gives the brand's own posts of the last day and their conversations", async () => {
    const res = await t.app.inject('/api/dialogue?brand=Lumen')
    expect(res.statusCode).toBe(200)
    const d = res.json()
    expect(d.ownPosts).toBeGreaterThan(0)
    expect(d).toEqual(
      await t.store.dialogue({
        brand: 'Lumen',
        from: new Date(Date.parse(d.at) - 24 * 3600_000).toISOString(),
        to: d.at,
      }),
    )
    expect((await t.app.inject('/api/dialogue')).statusCode).toBe(400)
  })

  it("GET /api/teams lists the teams; a team's posts are the stored posts with its intents", async () => {
    const teams = (await t.app.inject('/api/teams')).json()
    expect(teams.teams).toEqual([
      { team: 'marketing', intents: ['praise'] },
      { team: 'product', intents: ['suggestion', 'comparison'] },
      { team: 'support', intents: ['question', 'complaint', 'support'] },
    ])
    const res = await t.app.inject('/api/teams/support/posts?pageSize=200')
    expect(res.statusCode).toBe(200)
    const page = res.json()
    expect(page).toMatchObject({ team: 'support', page: 1, pageSize: 200 })
    expect(page.posts.length).toBeGreaterThan(0)
    for (const p of page.posts)
      expect(p.sentiment!.intents.some((i: string) => ['question', 'complaint', 'support'].includes(i))).toBe(true)
    // As live routing: none of the brand's own posts, though its support replies have these intents too.
    for (const p of page.posts) expect(p.ownBrand).toBeUndefined()
    const withOwn = await t.store.searchPosts({ intents: ['question', 'complaint', 'support'], page: 1, pageSize: 200 })
    expect(withOwn.posts.some((p) => p.ownBrand)).toBe(true)
    const search = await t.store.searchPosts({
      intents: ['question', 'complaint', 'support'],
      excludeOwn: true,
      page: 1,
      pageSize: 200,
    })
    expect(page.posts.map((p: { id: string }) => p.id)).toEqual(search.posts.map((p) => p.id))
    const unknown = await t.app.inject('/api/teams/legal/posts')
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().error.message).toContain('team "legal" gets no posts')
  })

  it('answers unknown routes with 404 in the same shape', async () => {
    const res = await t.app.inject('/api/nope')
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({ error: { code: 'not_found', message: 'No route for GET /api/nope' } })
  })

  it('serves the built wall', async () => {
    const res = await t.app.inject('/')
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('Undertow wall')
  })
})
