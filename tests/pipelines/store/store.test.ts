// The Store contract, run over every mode: embedded (chdb) and server (a real clickhouse-server
// process, Debian's 18.16 here). The same simulated stream goes through the real pipeline into each,
// and every query is checked against what the pipeline itself saw.
import { beforeAll, describe, expect, it } from 'vitest'
import { LiveView } from '../../../pipelines/sinks/live-memory.ts'
import type { Alert, BrandMetrics, Dialogue, Responsiveness, ScoredPost } from '../../../pipelines/schema.ts'
import { WINDOW_NAMES } from '../../../pipelines/schema.ts'
import type { AlertChange } from '../../../pipelines/metrics/alerting.ts'
import { LEDGER_MINUTES, MetricsLedger } from '../../../pipelines/metrics/ledger.ts'
import { ReplyQueue, WAITING_MS } from '../../../pipelines/metrics/replies.ts'
import { DialogueLedger } from '../../../pipelines/metrics/dialogue.ts'
import { brandHandles } from '../../../pipelines/sources/simulator/scenario.ts'
import type { TimedEvent } from '../../../pipelines/sources/simulator/generate.ts'
import { bindLiterals, quoteString } from '../../../pipelines/store/bind.ts'
import { MIGRATIONS } from '../../../pipelines/store/migrations.ts'
import { SEARCH_COUNT_CAP } from '../../../pipelines/store/queries.ts'
import { cutoffFor } from '../../../pipelines/store/retention.ts'
import { runThrough, scenario, simulated, sourceOf, tracking } from '../../support/fixtures.ts'
import { storesUnderTest } from '../../support/stores.ts'
import { launchDay } from '../../../pipelines/sources/simulator/scenario.ts'
import { parse } from 'csv-parse/sync'
import type { PostFilter } from '../../../pipelines/store/store.ts'
import { SCAN_PAGE } from '../../../pipelines/store/sql-store.ts'
import { buildServer } from '../../../server/app.ts'
import { simulatorSource } from '../../../pipelines/sources/simulator.ts'
import { MiddleClassifier } from '../../../models/middle-classifier.ts'
import { MIDDLE_MODEL } from '../../../models/middle-model.ts'

const MODES = storesUnderTest('store')

// Two simulated hours: launch, backlash, brand replies, engagement.
const events = simulated(2 * 3600)
const engagementOf = (list: readonly TimedEvent[]) =>
  list.flatMap((e) => (e.event.kind === 'engagement' ? [e.event.update] : []))

describe.each(MODES)('store contract ($name)', ({ store: open }) => {
  let stored: ScoredPost[] = []
  let liveMetrics: BrandMetrics[] = []
  let liveAlerts: AlertChange[] = []
  let liveResponsiveness = new Map<string, Responsiveness>()
  let liveDialogue = new Map<string, Dialogue>()

  beforeAll(async () => {
    // The shipped classifier, so that every figure it reads (emotions too) goes live and into the store.
    const classifier = await MiddleClassifier.load(MIDDLE_MODEL)
    const run = await runThrough(open(), sourceOf(events), classifier).finally(() => classifier.close())
    stored = run.live.posts
    expect(stored.filter((p) => p.sentiment!.emotions.length > 0).length).toBeGreaterThan(stored.length / 10)
    liveMetrics = [...run.live.metrics.values()]
    liveAlerts = run.live.alerts
    liveResponsiveness = run.live.responsiveness
    liveDialogue = run.live.dialogue
    expect(run.deadLetter.records).toEqual([])
  })

  it('applies its migrations once, and again safely, also after stopping half way', async () => {
    const store = open()
    await store.migrate()
    await store.migrate()
    // As if the newest migration stopped after its first statements: run again, it finishes.
    const newest = MIGRATIONS.at(-1)!.version
    await (store as unknown as { exec(sql: string): Promise<void> }).exec(
      `ALTER TABLE schema_migrations DELETE WHERE version = ${newest}`,
    )
    await expect
      .poll(async () => (await store.select(`SELECT version FROM schema_migrations WHERE version = ${newest}`)).length)
      .toBe(0)
    await store.migrate()
    const versions = await store.select<{ version: number; n: string }>(
      'SELECT version, count() AS n FROM schema_migrations GROUP BY version',
    )
    expect(versions.map((v) => Number(v.n))).toEqual(versions.map(() => 1))
  })

  it('stores each post once, even when the whole stream arrives again', async () => {
    const store = open()
    expect(stored.length).toBeGreaterThan(1000)
    expect(await store.countPosts()).toBe(stored.length)
    const before = await store.minuteAggregates({})
    const again = await runThrough(store, sourceOf(events))
    expect(again.stats.stored).toBe(0)
    expect(again.live.posts).toEqual([])
    expect(await store.countPosts()).toBe(stored.length)
    // The materialized views fired for none of the replayed posts.
    expect(await store.minuteAggregates({})).toEqual(before)
    const [dupes] = await store.select<{ n: string }>('SELECT count() - uniqExact(id) AS n FROM posts')
    expect(Number(dupes!.n)).toBe(0)
  })

  it('returns the newest stored post time', async () => {
    const newest = stored
      .map((p) => p.createdAt)
      .sort()
      .at(-1)
    expect(await open().latestPostTime()).toBe(newest)
  })

  it('counts every mention per brand and minute, and per hour, as the pipeline saw them', async () => {
    const expected = new Map<string, { posts: number; negative: number; mixed: number }>()
    const hourly = new Map<string, number>()
    for (const p of stored) {
      for (const brand of p.brands) {
        const minute = `${p.createdAt.slice(0, 16)}:00.000Z`
        const w = expected.get(`${brand}|${minute}`) ?? { posts: 0, negative: 0, mixed: 0 }
        w.posts++
        if (p.sentiment!.label === 'negative') w.negative++
        if (p.sentiment!.mixed) w.mixed++
        expected.set(`${brand}|${minute}`, w)
        const hour = `${brand}|${p.createdAt.slice(0, 13)}:00:00.000Z`
        hourly.set(hour, (hourly.get(hour) ?? 0) + 1)
      }
    }
    const windows = await open().minuteAggregates({})
    expect(
      new Map(windows.map((w) => [`${w.brand}|${w.minute}`, { posts: w.posts, negative: w.negative, mixed: w.mixed }])),
    ).toEqual(expected)
    const hours = await open().minuteAggregates({ bucket: 'hour', brands: ['Lumen'] })
    expect(hours.map((w) => [`${w.brand}|${w.minute}`, w.posts])).toEqual(
      [...hourly].filter(([k]) => k.startsWith('Lumen|')).sort(),
    )
    expect(await open().minuteAggregates({ source: 'simulator' })).toEqual(windows)
    expect(await open().minuteAggregates({ source: 'mastodon' })).toEqual([])
  })

  it('computes every live metric, window and source exactly as the pipeline did', async () => {
    // Every brand, on its one source and on all, over each window (tracking has 3 brands).
    expect(liveMetrics).toHaveLength(3 * 2 * WINDOW_NAMES.length)
    expect(liveMetrics.find((m) => m.brand === 'Lumen' && m.window === '1h')!.middle).toBeGreaterThan(0)
    expect(
      Object.values(
        liveMetrics.find((m) => m.brand === 'Lumen' && m.window === '24h' && m.source === 'all')!.emotions,
      ).every((n) => n > 0),
    ).toBe(true)
    for (const live of liveMetrics) {
      const rivals = tracking.find((b) => b.name === live.brand)!.competitors
      const stored = await open().metrics({
        brand: live.brand,
        rivals,
        ...(live.source === 'all' ? {} : { source: live.source }),
        window: live.window,
        from: live.from,
        to: live.to,
      })
      expect(stored, `${live.brand} ${live.source} ${live.window}`).toEqual(live)
    }
  })

  it('gives the metrics per minute or hour, each bucket as the live one-minute window would', async () => {
    for (const live of liveMetrics.filter((m) => m.window === '1m' && m.posts > 0)) {
      const rivals = tracking.find((b) => b.name === live.brand)!.competitors
      const series = await open().metricSeries({
        brand: live.brand,
        rivals,
        ...(live.source === 'all' ? {} : { source: live.source }),
        from: new Date(Date.parse(live.from) - 10 * 60_000).toISOString(),
        to: live.to,
      })
      expect(series.length).toBeGreaterThan(1)
      expect(series.at(-1)).toEqual(live)
    }
    const day = liveMetrics.find((m) => m.brand === 'Lumen' && m.source === 'all' && m.window === '24h')!
    const hours = await open().metricSeries({
      brand: 'Lumen',
      rivals: ['Corvid', 'Nimbus'],
      from: day.from,
      to: day.to,
      bucket: 'hour',
    })
    expect(hours.length).toBe(2)
    expect(hours.every((h) => h.window === '1h' && Date.parse(h.to) - Date.parse(h.from) === 3_600_000)).toBe(true)
    expect(hours.reduce((sum, h) => sum + h.posts, 0)).toBe(day.posts)
    expect(hours.reduce((sum, h) => sum + h.middle, 0)).toBe(day.middle)
  })

  it('resumes the live metrics from the store after a restart, exactly where they were', async () => {
    const ledger = new MetricsLedger(tracking)
    const newest = Math.max(...liveMetrics.map((m) => Date.parse(m.to))) - 60_000
    ledger.seed(await open().ledgerSeed(newest - LEDGER_MINUTES * 60_000))
    const key = (m: BrandMetrics) => `${m.brand}|${m.source}|${m.window}`
    expect(new Map(ledger.metrics().map((m) => [key(m), m]))).toEqual(new Map(liveMetrics.map((m) => [key(m), m])))
  })

  it('counts unique authors and reach, each author once, with their latest followers', async () => {
    const authors = new Map<string, number>()
    for (const p of stored.filter((p) => p.brands.includes('Lumen'))) authors.set(p.author.id, p.author.followers)
    const reach = [...authors.values()].reduce((a, b) => a + b, 0)
    expect(await open().audience({ brand: 'Lumen' })).toEqual({ authors: authors.size, reach })
    expect(await open().audience({ brand: 'Lumen', from: '2030-01-01T00:00:00Z' })).toEqual({ authors: 0, reach: 0 })
  })

  it('stores engagement once and adds it to the posts it belongs to', async () => {
    const store = open()
    const updates = engagementOf(events)
    const [count] = await store.select<{ n: string }>('SELECT uniqExact(id) AS n FROM engagement')
    expect(Number(count!.n)).toBe(new Set(updates.map((u) => u.id)).size)
    const likes = new Map<string, number>()
    for (const u of updates) likes.set(u.postId, (likes.get(u.postId) ?? 0) + u.delta.likes)
    const page = await store.searchPosts({ brand: 'Lumen', page: 1, pageSize: 500 })
    expect(page.posts.some((p) => (likes.get(p.id) ?? 0) > 0)).toBe(true)
    const byId = new Map(stored.map((p) => [p.id, p]))
    for (const p of page.posts)
      expect(p.engagement.likes).toBe(byId.get(p.id)!.engagement.likes + (likes.get(p.id) ?? 0))
    // The minute table counts a like for each brand its post mentions.
    const lumenLikes = updates
      .filter((u) => byId.get(u.postId)?.brands.includes('Lumen'))
      .reduce((a, u) => a + u.delta.likes, 0)
    const [sum] = await store.select<{ likes: string }>(
      "SELECT sum(likes) AS likes FROM brand_source_minute WHERE brand = 'Lumen'",
    )
    expect(Number(sum!.likes)).toBe(
      lumenLikes + stored.filter((p) => p.brands.includes('Lumen')).reduce((a, p) => a + p.engagement.likes, 0),
    )
  })

  it('finds middle feedback by label, flags, intents, text and source, newest first, in pages', async () => {
    const store = open()
    const matches = stored
      .filter(
        (p) =>
          p.brands.includes('Lumen') && p.sentiment!.intents.includes('question') && p.sentiment!.label !== 'positive',
      )
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id))
    const first = await store.searchPosts({
      brand: 'Lumen',
      intents: ['question'],
      labels: ['negative', 'neutral'],
      page: 1,
      pageSize: 10,
    })
    expect(first.total).toBe(matches.length)
    expect(first.posts.map((p) => p.id)).toEqual(matches.slice(0, 10).map((p) => p.id))
    const second = await store.searchPosts({
      brand: 'Lumen',
      intents: ['question'],
      labels: ['negative', 'neutral'],
      page: 2,
      pageSize: 10,
    })
    expect(second.posts.map((p) => p.id)).toEqual(matches.slice(10, 20).map((p) => p.id))
    const angry = stored.filter(
      (p) => p.brands.includes('Lumen') && p.sentiment!.emotions.some((e) => e === 'anger' || e === 'sadness'),
    )
    expect(angry.length).toBeGreaterThan(0)
    expect(
      (await store.searchPosts({ brand: 'Lumen', emotions: ['anger', 'sadness'], page: 1, pageSize: 1000 })).posts
        .map((p) => p.id)
        .sort(),
    ).toEqual(angry.map((p) => p.id).sort())
    const mixed = await store.searchPosts({ mixed: true, text: 'BATTERY', page: 1, pageSize: 1000 })
    expect(mixed.total).toBe(stored.filter((p) => p.sentiment!.mixed && /battery/i.test(p.text)).length)
    const { createdAt } = matches[5]!
    const older = await store.searchPosts({
      brand: 'Lumen',
      intents: ['question'],
      labels: ['negative', 'neutral'],
      to: createdAt,
      page: 1,
      pageSize: 1000,
    })
    expect(older.total).toBe(matches.filter((p) => p.createdAt < createdAt).length)
    expect((await store.searchPosts({ source: 'mastodon', page: 1, pageSize: 10 })).total).toBe(0)
    // A post read back equals the post stored, probabilities to float32 precision.
    const [back] = (await store.searchPosts({ brand: 'Lumen', page: 1, pageSize: 1 })).posts
    const original = stored.find((p) => p.id === back!.id)!
    expect({
      ...back,
      engagement: original.engagement,
      sentiment: { ...back!.sentiment, scores: original.sentiment!.scores, confidence: original.sentiment!.confidence },
    }).toEqual(original)
    expect(back!.sentiment!.confidence).toBeCloseTo(original.sentiment!.confidence, 5)
  })

  it("measures the brand's first replies to the mentions that needed one", async () => {
    const support = brandHandles(scenario)[1]
    const lumen = stored.filter((p) => p.brands.includes('Lumen'))
    // Questions, complaints and support needs (the simulator's tracking does not count every direct mention).
    const mentions = lumen.filter((p) =>
      p.sentiment!.intents.some((i) => ['question', 'complaint', 'support'].includes(i)),
    )
    expect(mentions.map((p) => p.id)).toEqual(lumen.filter((p) => p.needsReply?.includes('Lumen')).map((p) => p.id))
    const firstReply = new Map<string, number>()
    for (const p of stored) {
      if (p.author.handle !== support || !p.replyTo) continue
      firstReply.set(p.replyTo, Math.min(Date.parse(p.createdAt), firstReply.get(p.replyTo) ?? Infinity))
    }
    const delays = mentions
      .filter((m) => firstReply.has(m.id))
      .map((m) => (firstReply.get(m.id)! - Date.parse(m.createdAt)) / 1000)
    delays.sort((a, b) => a - b)
    const stats = await open().responseTimes({ brand: 'Lumen' })
    expect(stats.mentions).toBe(lumen.length)
    expect(stats.needingReply).toBe(mentions.length)
    expect(stats.answered).toBe(delays.length)
    expect(stats.answered).toBeGreaterThan(10)
    expect(stats.replyRate).toBeCloseTo(delays.length / mentions.length, 10)
    // quantileExact takes the element at floor(level * n) of the sorted delays.
    expect(stats.medianSeconds).toBeCloseTo(delays[Math.floor(0.5 * delays.length)]!, 3)
    expect(stats.p90Seconds).toBeCloseTo(delays[Math.floor(0.9 * delays.length)]!, 3)
    expect(await open().responseTimes({ brand: 'Lumen', from: '2030-01-01T00:00:00Z' })).toEqual({
      mentions: 0,
      needingReply: 0,
      answered: 0,
      replyRate: null,
      medianSeconds: null,
      p90Seconds: null,
    })
  })

  it('gives the same responsiveness from history as the pipeline did live', async () => {
    const live = liveResponsiveness.get('Lumen')!
    expect(live.needingReply).toBeGreaterThan(10)
    expect(live.overdue).toBeGreaterThan(0)
    const day = 24 * 3600_000
    const history = await open().responseTimes({
      brand: 'Lumen',
      from: new Date(Date.parse(live.at) - day).toISOString(),
      to: live.at,
      asOf: live.at,
    })
    const { mentions: _, ...figures } = history
    expect(figures).toEqual({
      needingReply: live.needingReply,
      answered: live.answered,
      replyRate: live.replyRate,
      medianSeconds: live.medianSeconds,
      p90Seconds: live.p90Seconds,
    })
  })

  it('resumes responsiveness and dialogue from the store after a restart, exactly where they were', async () => {
    const live = liveResponsiveness.get('Lumen')!
    const seed = await open().conversationSeed(Date.parse(live.at) - WAITING_MS)
    const queue = new ReplyQueue()
    queue.seed(seed)
    expect(queue.responsiveness('Lumen', Date.parse(live.at))).toEqual(live)
    const dialogue = new DialogueLedger()
    dialogue.seed(seed)
    const liveD = liveDialogue.get('Lumen')!
    expect(dialogue.dialogue('Lumen', Date.parse(liveD.at))).toEqual(liveD)
  })

  it("gives the same dialogue on the brand's own posts from history as the pipeline did live", async () => {
    const live = liveDialogue.get('Lumen')!
    expect(live.ownPosts).toBeGreaterThan(1)
    expect(live.replies).toBeGreaterThan(live.ownPosts)
    expect(Math.max(...live.top.map((t) => t.depth))).toBeGreaterThan(1)
    // The threads' replies name no brand: they were kept because they answer the brand's posts.
    expect(stored.filter((p) => p.thread && p.brands.length === 0).length).toBeGreaterThan(0)
    const day = 24 * 3600_000
    expect(
      await open().dialogue({
        brand: 'Lumen',
        from: new Date(Date.parse(live.at) - day).toISOString(),
        to: live.at,
        asOf: live.at,
      }),
    ).toEqual(live)
  })

  it('stores alerts and reads back the newest state of each', async () => {
    const store = open()
    const alert: Alert = {
      id: 'alert-1',
      brand: 'Lumen',
      at: '2030-11-23T09:41:12.345Z',
      severity: 'critical',
      state: 'open',
      title: 'Backlash risk 82: negative share doubled',
      why: {
        summary: "negative share 41% against 12% baseline; 'battery' up 9x",
        terms: ['battery', "won't charge"],
        examplePostIds: ['simulator:1'],
      },
    }
    await store.insertAlerts([alert, { ...alert, id: 'alert-2', brand: 'Corvid', severity: 'warning' }])
    await store.insertAlerts([{ ...alert, state: 'acknowledged' }])
    const since = { from: '2030-01-01T00:00:00Z' }
    expect(await store.alerts({ brand: 'Lumen', ...since })).toEqual([{ ...alert, state: 'acknowledged' }])
    expect((await store.alerts(since)).map((a) => a.id)).toEqual(['alert-1', 'alert-2'])
    expect(await store.alerts({ from: '2030-11-24T00:00:00Z' })).toEqual([])
    // By state (the newest state only: alert-1 was open once) and by id.
    expect((await store.alerts({ state: 'open', ...since })).map((a) => a.id)).toEqual(['alert-2'])
    expect(await store.alerts({ state: 'acknowledged', ...since })).toEqual([{ ...alert, state: 'acknowledged' }])
    expect((await store.alerts({ id: 'alert-2' })).map((a) => a.brand)).toEqual(['Corvid'])
    await store.insertAlerts([{ ...alert, state: 'resolved' }])
    expect(await store.alerts({ state: 'acknowledged', ...since })).toEqual([])
    expect((await store.alerts({ state: 'resolved', ...since })).map((a) => a.id)).toEqual(['alert-1'])
    expect(await store.alerts({ id: "alert-1' OR 1=1 --" })).toEqual([])
  })

  it('stores the alerts the pipeline raised, in their latest state', async () => {
    // The simulated two hours hold the launch and the backlash: the backlash raises an alert.
    expect(liveAlerts.some((c) => c.kind === 'raised' && c.alert.brand === 'Lumen')).toBe(true)
    const latest = new Map(liveAlerts.map((c) => [c.alert.id, c.alert]))
    const stored = await open().alerts({ to: '2030-01-01T00:00:00Z' })
    expect(new Map(stored.map((a) => [a.id, a]))).toEqual(latest)
  })

  it('gives the newest posts, oldest first, for relating replies after a restart', async () => {
    const newest = [...stored]
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
      .slice(-5)
    expect(await open().recentPosts(5)).toEqual(
      newest.map((p) => ({
        id: p.id,
        source: p.source,
        brands: p.brands,
        createdAt: p.createdAt,
        ...(p.needsReply ? { needsReply: p.needsReply } : {}),
      })),
    )
    // Which of them wait for a reply, so a brand's reply after a restart still knows.
    const waiting = stored.filter((p) => p.needsReply).at(-1)!
    const recent = await open().recentPosts(stored.length)
    expect(recent.find((r) => r.id === waiting.id)?.needsReply).toEqual(waiting.needsReply)
  })

  it('counts search matches up to the cap, and says when there are more', async () => {
    const store = open()
    const model = stored[0]!
    const many = Array.from({ length: SEARCH_COUNT_CAP + 50 }, (_, i) => ({
      ...model,
      id: `${model.id}:clone:${i}`,
      text: `zebracorn clone ${i}`,
    }))
    expect(await store.insertPosts(many)).toHaveLength(many.length)
    const page = await store.searchPosts({ text: 'zebracorn', page: 3, pageSize: 10 })
    expect(page).toMatchObject({ total: SEARCH_COUNT_CAP, totalCapped: true })
    expect(page.posts).toHaveLength(10)
    expect(await store.searchPosts({ text: 'zebracorn clone 1049', page: 1, pageSize: 10 })).toMatchObject({
      total: 1,
      totalCapped: false,
    })
    // The last page tells the exact total, past the cap.
    const lastPage = Math.ceil(many.length / 100)
    expect(await store.searchPosts({ text: 'zebracorn', page: lastPage, pageSize: 100 })).toMatchObject({
      total: many.length,
      totalCapped: false,
    })
    // A full last page (no row after it) is exact too; a deep page that reaches the cap says so
    // without a count; a page past the end still tells the total.
    expect(await store.searchPosts({ text: 'zebracorn', page: 21, pageSize: 50 })).toMatchObject({
      total: many.length,
      totalCapped: false,
    })
    const deep = await store.searchPosts({ text: 'zebracorn', page: 100, pageSize: 10 })
    expect(deep).toMatchObject({ total: SEARCH_COUNT_CAP, totalCapped: true })
    expect(deep.posts).toHaveLength(10)
    expect(await store.searchPosts({ text: 'zebracorn', page: 30, pageSize: 50 })).toMatchObject({
      total: many.length,
      totalCapped: false,
      posts: [],
    })
  })

  it('keeps every value exactly through its query parameters, whatever it holds', async () => {
    const nasty = [
      "O'Brien",
      'back\\slash',
      'new\nline\ttab\r',
      "'; DROP TABLE posts; --",
      '\u0000nul',
      'émoji 🔋 \u2028',
      '{brand:String}',
      "\\'",
    ]
    for (const value of nasty) {
      const [row] = await open().select<{ s: string }>('SELECT {s:String} AS s', { s: value })
      expect(row!.s).toBe(value)
    }
    expect((await open().searchPosts({ text: "'; DROP TABLE posts; --", page: 1, pageSize: 1 })).total).toBe(0)
    expect(await open().countPosts()).toBe(stored.length + SEARCH_COUNT_CAP + 50)
  })

  it('stores each deletion once, and removes the deleted posts', async () => {
    const store = open()
    const before = await store.countPosts()
    const gone = stored.slice(0, 2)
    const deletions = gone.map((p) => ({ postId: p.id, at: new Date(Date.parse(p.createdAt) + 1000).toISOString() }))
    expect(await store.insertDeletions(deletions)).toEqual(deletions)
    expect(await store.insertDeletions(deletions)).toEqual([])
    const refs = gone.map((p) => ({ id: p.id, createdAt: p.createdAt }))
    expect(await store.deletePosts([...refs, { id: 'simulator:never-stored', createdAt: gone[0]!.createdAt }])).toBe(2)
    // A mutation: the server applies it in the background.
    await expect.poll(() => store.countPosts(), { timeout: 20_000 }).toBe(before - 2)
    expect(await store.deletePosts(refs)).toBe(0)
    // A replay (after a crash, say) does not bring a deleted post back.
    expect(await store.unstoredPosts(gone)).toEqual([])
    expect(await store.insertPosts(gone)).toEqual([])
    expect(await store.countPosts()).toBe(before - 2)
    const [left] = await store.select<{ n: string }>('SELECT count() AS n FROM posts WHERE id = {id:String}', {
      id: gone[0]!.id,
    })
    expect(Number(left!.n)).toBe(0)
  })

  // Posts whose text a CSV must keep whole, some created at the same millisecond (keyset ties).
  const csvTexts = [
    'plain quokka',
    'quokka, with commas, and "quotes"',
    'quokka on\ntwo lines\r\nor three',
    '=HYPERLINK("http://evil.example")&" quokka"',
    '+quokka',
    '-quokka',
    '@quokka',
    '\tquokka',
    'émoji quokka 🔋',
  ]
  const csvPosts = () => {
    const model = stored.find((p) => p.brands.includes('Lumen') && p.sentiment!.label === 'negative')!
    const at = Date.parse(model.createdAt)
    return csvTexts.map(
      (text, i): ScoredPost => ({
        ...model,
        id: `${model.id}:csv:${i}`,
        text,
        createdAt: new Date(at + Math.floor(i / 3) * 61_000).toISOString(),
      }),
    )
  }
  const all = async (search: PostFilter) =>
    (await open().searchPosts({ ...search, page: 1, pageSize: 1_000_000 })).posts

  it('finds posts by id, with the other filters', async () => {
    const store = open()
    const posts = csvPosts()
    expect(await store.insertPosts(posts)).toHaveLength(posts.length)
    const found = await store.searchPosts({
      ids: [posts[1]!.id, posts[4]!.id, 'simulator:never-stored'],
      page: 1,
      pageSize: 10,
    })
    expect(found).toMatchObject({ total: 2, totalCapped: false })
    expect(found.posts.map((p) => p.id)).toEqual([posts[4]!.id, posts[1]!.id])
    expect((await store.searchPosts({ ids: [posts[1]!.id], labels: ['positive'], page: 1, pageSize: 10 })).total).toBe(
      0,
    )
    expect((await store.searchPosts({ ids: ["x' OR 1=1 --"], page: 1, pageSize: 10 })).total).toBe(0)
  })

  it('counts a selection per minute and per hour, adding up to what the search finds', async () => {
    const store = open()
    const filters: PostFilter[] = [
      { brand: 'Lumen', labels: ['negative', 'neutral'] },
      { intents: ['question'], from: '2026-11-23T09:10:30Z', to: '2026-11-23T10:20:15Z' },
      { text: 'quokka' },
    ]
    for (const filter of filters) {
      const posts = await all(filter)
      expect(posts.length).toBeGreaterThan(0)
      for (const bucket of ['minute', 'hour'] as const) {
        const expected = new Map<
          string,
          { posts: number; negative: number; neutral: number; positive: number; unscored: number }
        >()
        for (const p of posts) {
          const start =
            bucket === 'hour' ? `${p.createdAt.slice(0, 13)}:00:00.000Z` : `${p.createdAt.slice(0, 16)}:00.000Z`
          const b = expected.get(start) ?? { posts: 0, negative: 0, neutral: 0, positive: 0, unscored: 0 }
          b.posts++
          b[p.sentiment?.label ?? 'unscored']++
          expected.set(start, b)
        }
        const series = await store.postSeries({ ...filter, bucket })
        expect(series, `${JSON.stringify(filter)} per ${bucket}`).toEqual(
          [...expected].sort(([a], [b]) => a.localeCompare(b)).map(([minute, counts]) => ({ minute, ...counts })),
        )
      }
    }
    expect(await store.postSeries({ brand: 'Lumen', limit: 3 })).toHaveLength(3)
    expect(await store.postSeries({ source: 'mastodon' })).toEqual([])
  })

  it('scans a whole selection a page at a time, in the order and with the figures of the search', async () => {
    const scan = async (filter: PostFilter, pageSize?: number) => {
      const pages: ScoredPost[][] = []
      for await (const page of open().scanPosts(filter, pageSize)) pages.push(page)
      return pages
    }
    const quokka = await scan({ text: 'quokka' }, 2)
    expect(quokka.map((p) => p.length)).toEqual([2, 2, 2, 2, 1])
    expect(quokka.flat()).toEqual(await all({ text: 'quokka' }))
    // Every post, the search-count clones among them (a thousand at one millisecond), over pages.
    const everything = await scan({}, 997)
    expect(everything.flat()).toEqual(await all({}))
    expect(everything.flat()).toHaveLength(await open().countPosts())
    expect(await scan({ source: 'mastodon' })).toEqual([])
  })

  it('exports a selection as CSV, row for row the search, with the text kept whole and formulas defused', async () => {
    const app = await buildServer({
      store: open(),
      view: new LiveView(),
      tracking,
      health: { classifier: 'vader-lexicon', sources: [], stats: () => ({}) },
    })
    try {
      const res = await app.inject('/api/posts.csv?q=quokka&brand=Lumen')
      expect(res.statusCode, res.body).toBe(200)
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8')
      expect(res.headers['content-disposition']).toBe('attachment; filename="undertow-posts-start-end.csv"')
      expect(res.body.startsWith(`\ufeff${CSV_HEADER}\r\n`)).toBe(true)
      // RFC 4180: quoted where needed, quotes doubled; a formula gets its apostrophe inside the quotes.
      expect(res.body).toContain('"quokka, with commas, and ""quotes"""')
      expect(res.body).toContain(`"'=HYPERLINK(""http://evil.example"")&"" quokka"""`)
      expect(res.body).toContain('"quokka on\ntwo lines\r\nor three"')
      const posts = await all({ text: 'quokka', brand: 'Lumen' })
      expect(posts).toHaveLength(csvTexts.length)
      expect(parse(res.body, { bom: true, columns: true })).toEqual(posts.map(expectedCsvRow))

      const empty = await app.inject('/api/posts.csv?from=2026-11-23T09:00:00Z&to=2026-11-23T10:00:00%2B01:00')
      expect(empty.headers['content-disposition']).toBe(
        'attachment; filename="undertow-posts-2026-11-23T090000Z-2026-11-23T090000Z.csv"',
      )
      expect(empty.body).toBe(`\ufeff${CSV_HEADER}\r\n`)
      // Every post: more than one page of the store's scan.
      const rows = parse((await app.inject('/api/posts.csv')).body, { bom: true, columns: true }) as Record<
        string,
        string
      >[]
      expect(rows.length).toBeGreaterThan(SCAN_PAGE)
      expect(rows).toEqual((await all({})).map(expectedCsvRow))
    } finally {
      await app.close()
    }
  })
})

const CSV_HEADER =
  'id,source,createdAt,brands,authorHandle,followers,language,label,negative,neutral,positive,mixed,uncertain,intents,emotions,likes,reposts,replies,quotes,url,text'

/** A post as its CSV row reads back, written out here apart from the route's own code. */
function expectedCsvRow(p: ScoredPost): Record<string, string> {
  // A text cell starting like a formula gets a leading apostrophe (CSV injection).
  const cell = (s: string) => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s)
  const { sentiment: s, engagement: e } = p
  return {
    id: cell(p.id),
    source: p.source,
    createdAt: p.createdAt,
    brands: cell(p.brands.join('|')),
    authorHandle: cell(p.author.handle),
    followers: String(p.author.followers),
    language: p.language,
    label: s?.label ?? 'unscored',
    negative: s ? String(s.scores.negative) : '',
    neutral: s ? String(s.scores.neutral) : '',
    positive: s ? String(s.scores.positive) : '',
    mixed: s ? String(s.mixed) : '',
    uncertain: s ? String(s.uncertain) : '',
    intents: s?.intents.join('|') ?? '',
    emotions: s?.emotions.join('|') ?? '',
    likes: String(e.likes),
    reposts: String(e.reposts),
    replies: String(e.replies),
    quotes: String(e.quotes),
    url: cell(p.url),
    text: cell(p.text),
  }
}

describe.each(MODES)('retention ($name)', ({ store: open }) => {
  const day = (start: string) =>
    simulatorSource({
      scenario: launchDay({ brand: 'Lumen', competitors: ['Corvid', 'Nimbus'], start }),
      seed: 3,
      speed: Infinity,
      until: 20 * 60,
    })

  it('drops the day partitions older than the cutoff in every table and keeps the newer ones', async () => {
    const store = open()
    const now = Date.parse('2026-10-30T12:00:00Z')
    const before = await store.countPosts()
    await runThrough(store, day('2026-09-01T10:00:00.000Z'))
    const old = (await store.countPosts()) - before
    await runThrough(store, day('2026-10-29T10:00:00.000Z'))
    const total = await store.countPosts()
    expect(old).toBeGreaterThan(0)
    expect(total - before - old).toBeGreaterThan(0)
    const dropped = await store.dropPartitionsBefore(cutoffFor(30, now))
    expect(dropped.map((d) => d.partition)).toEqual(dropped.map(() => '2026-09-01'))
    expect(dropped.map((d) => d.table).sort()).toEqual([
      'brand_authors',
      'brand_replies',
      'brand_source_minute',
      'engagement',
      'posts',
    ])
    expect(await store.countPosts()).toBe(total - old)
    expect((await store.searchPosts({ to: '2026-09-02T00:00:00Z', page: 1, pageSize: 1 })).total).toBe(0)
    expect((await store.minuteAggregates({ to: '2026-09-02T00:00:00Z' })).length).toBe(0)
    expect(await store.dropPartitionsBefore(cutoffFor(30, now))).toEqual([])
  })
})

describe('literal binding (servers without query parameters)', () => {
  it('quotes strings so that nothing in them can end the literal', () => {
    expect(quoteString("it's")).toBe("'it\\'s'")
    expect(quoteString('a\\b')).toBe("'a\\\\b'")
    expect(bindLiterals('SELECT {a:String}, {n:UInt32}, {l:Array(String)}', { a: "x'", n: 5, l: ['p', "q'"] })).toBe(
      "SELECT 'x\\'', 5, ['p', 'q\\'']",
    )
  })

  it('refuses a value that is not of the declared type, or is missing', () => {
    expect(() => bindLiterals('SELECT {n:UInt32}', { n: '5; DROP TABLE posts' })).toThrow(
      'query parameter n: expected a safe integer',
    )
    expect(() => bindLiterals('SELECT {n:UInt8}', { n: 300 })).toThrow('out of range for UInt8')
    expect(() => bindLiterals('SELECT {n:UInt32}', {})).toThrow('query parameter n is not given')
    expect(() => bindLiterals('SELECT {d:Date}', { d: '2026-01-01' })).toThrow('not supported')
  })
})
