// A write whose rows landed but whose materialized views did not (a server killed between the two,
// or a view's insert refused): the retry finds the rows held and skips them, and the store recounts
// the minutes of the failed write and adds what the views lack. Run over every mode. The lost views
// are made real, not pretended: the views are detached around the write that then fails. What the
// recount adds is held against what the views themselves add for the same rows.
import { beforeAll, describe, expect, it } from 'vitest'
import type { ScoredPost, AttributedEngagement } from '../../../pipelines/schema.ts'
import { MINUTE_COLUMNS } from '../../../pipelines/store/recount-queries.ts'
import { postRow } from '../../../pipelines/store/rows.ts'
import type { SqlStore } from '../../../pipelines/store/sql-store.ts'
import { MiddleClassifier } from '../../../models/middle-classifier.ts'
import { MIDDLE_MODEL } from '../../../models/middle-model.ts'
import { runThrough, simulated, sourceOf } from '../../support/fixtures.ts'
import { storesUnderTest } from '../../support/stores.ts'

const MODES = storesUnderTest('recount')
const POST_VIEWS = ['brand_source_minute_posts_mv', 'brand_authors_mv', 'brand_replies_mv']
const ENGAGEMENT_VIEWS = ['brand_source_minute_engagement_mv']
const events = simulated(1800)

type Table = Map<string, Record<string, number>>

/** The minute tables as they stand: brand_source_minute per key, brand_authors and brand_replies per brand, source and minute. */
async function tables(store: SqlStore): Promise<{ minutes: Table; authors: Table; replies: Table }> {
  const read = async (sql: string, key: (r: Record<string, unknown>) => string): Promise<Table> =>
    new Map(
      (await store.select(sql)).map((r) => [
        key(r),
        Object.fromEntries(
          Object.entries(r)
            .filter(([c]) => !['brand', 'source', 'm'].includes(c))
            .map(([c, v]) => [c, Number(v)]),
        ),
      ]),
    )
  const byMinute = (r: Record<string, unknown>) => `${String(r.brand)}|${String(r.source)}|${Number(r.m)}`
  return {
    minutes: await read(
      `SELECT brand, source, toUInt32(minute) AS m, ${MINUTE_COLUMNS.map((c) => `sum(${c}) AS ${c}`).join(', ')} FROM brand_source_minute GROUP BY brand, source, m`,
      byMinute,
    ),
    // By key first: brand_authors is a SummingMergeTree, so a background merge may fold two rows of
    // one author, minute and followers into one at any moment; counted by key, a merge changes nothing.
    authors: await read(
      'SELECT brand, source, m, count() AS rows, sum(posts) AS posts, sum(followers) AS followers FROM (SELECT brand, source, toUInt32(minute) AS m, author_id, followers, sum(posts) AS posts FROM brand_authors GROUP BY brand, source, m, author_id, followers) GROUP BY brand, source, m',
      byMinute,
    ),
    replies: await read(
      "SELECT brand, '' AS source, toUInt32(mention_minute) AS m, count() AS rows, sum(needed) AS needed, sum(replied_ms - mention_ms) AS waited FROM brand_replies GROUP BY brand, m",
      byMinute,
    ),
  }
}

/** After minus before, per key and column (keys that did not change left out). */
function added(after: Table, before: Table): Table {
  const out: Table = new Map()
  for (const [key, row] of after) {
    const was = before.get(key) ?? {}
    const diff = Object.fromEntries(Object.entries(row).map(([c, v]) => [c, v - (was[c] ?? 0)]))
    if (Object.values(diff).some((v) => v !== 0)) out.set(key, diff)
  }
  return out
}

function addedAll(after: Awaited<ReturnType<typeof tables>>, before: Awaited<ReturnType<typeof tables>>) {
  return {
    minutes: added(after.minutes, before.minutes),
    authors: added(after.authors, before.authors),
    replies: added(after.replies, before.replies),
  }
}

/**
 * The retry of a failed write (which finds its rows held, stores nothing and recounts), then the
 * same rows written whole with the views: both must add the same to every minute table.
 */
async function recountAgainstViews(
  store: SqlStore,
  before: Awaited<ReturnType<typeof tables>>,
  retry: () => Promise<unknown[]>,
  whole: () => Promise<unknown>,
): Promise<void> {
  expect(await retry()).toEqual([])
  await store.recounter.done()
  expect(store.recounter.pending).toBe(false)
  const afterRecount = await tables(store)
  const recounted = addedAll(afterRecount, before)
  expect(recounted.minutes.size).toBeGreaterThan(0)
  await whole()
  await store.recounter.done()
  expect(addedAll(await tables(store), afterRecount)).toEqual(recounted)
}

const minuteOf = (iso: string) => Math.floor(Date.parse(iso) / 60_000) * 60

describe.each(MODES)('recounting after a write the views missed ($name)', ({ store: open }) => {
  let stored: ScoredPost[] = []
  let engagement: AttributedEngagement[] = []
  const exec = (store: SqlStore, sql: string) => (store as unknown as { exec(sql: string): Promise<void> }).exec(sql)

  /** Writes with `views` detached around the first insert into `table`, which then fails. */
  async function failingWrite(
    store: SqlStore,
    table: string,
    views: readonly string[],
    write: () => Promise<unknown>,
  ): Promise<void> {
    const target = store as unknown as { insertRows(table: string, rows: readonly object[]): Promise<void> }
    const insertRows = target.insertRows.bind(store)
    let failed = false
    target.insertRows = async (t, rows) => {
      if (t !== table || failed) return insertRows(t, rows)
      failed = true
      for (const view of views) await exec(store, `DETACH TABLE ${view}`)
      try {
        await insertRows(t, rows)
      } finally {
        for (const view of views) await exec(store, `ATTACH TABLE ${view}`)
      }
      throw new Error('socket hang up')
    }
    try {
      await expect(write()).rejects.toThrow('socket hang up')
    } finally {
      target.insertRows = insertRows
    }
  }

  beforeAll(async () => {
    const store = open()
    // The shipped classifier: its emotions are counted per minute too, so the recount must add them.
    const classifier = await MiddleClassifier.load(MIDDLE_MODEL)
    const run = await runThrough(store, sourceOf(events), classifier).finally(() => classifier.close())
    expect(run.deadLetter.records).toEqual([])
    stored = run.live.posts
    engagement = (
      await store.select('SELECT id, post_id, source, brands, at_ms, likes, reposts, replies, quotes FROM engagement')
    ).map((r) => ({
      id: String(r.id),
      postId: String(r.post_id),
      source: String(r.source) as AttributedEngagement['source'],
      brands: r.brands as string[],
      at: new Date(Number(r.at_ms)).toISOString(),
      delta: {
        likes: Number(r.likes),
        reposts: Number(r.reposts),
        replies: Number(r.replies),
        quotes: Number(r.quotes),
      },
    }))
    expect(engagement.length).toBeGreaterThan(0)
    store.recounter.pauseMs = 20
    await store.recounter.done()
  }, 120_000)

  it('adds nothing where the views counted every row', async () => {
    const store = open()
    const before = { ...store.recounts }
    const snapshot = await tables(store)
    const replies = stored
      .filter((p) => p.ownBrand && p.answersMentionAt)
      .map((p) => ({ id: p.id, createdMs: Date.parse(p.createdAt) }))
    expect(replies.length).toBeGreaterThan(0)
    store.recounter.note(
      new Set([...stored.map((p) => minuteOf(p.createdAt)), ...engagement.map((u) => minuteOf(u.at))]),
      replies,
    )
    store.recounter.start()
    await store.recounter.done()
    expect(store.recounter.pending).toBe(false)
    expect(store.recounts).toEqual({ ...before, runs: before.runs + 1 })
    expect(await tables(store)).toEqual(snapshot)
  })

  it('adds what the views would have for posts that landed without them, after the retry', async () => {
    const store = open()
    // Copies of the posts of five busy minutes and of the brand replies, as new posts by new authors.
    const perMinute = new Map<string, number>()
    for (const p of stored) perMinute.set(p.createdAt.slice(0, 16), (perMinute.get(p.createdAt.slice(0, 16)) ?? 0) + 1)
    const busy = new Set(
      [...perMinute]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([m]) => m),
    )
    // Every seventh copy unscored (as a post in a language not read): counted apart.
    const unscored = (p: ScoredPost, k: number): ScoredPost =>
      k % 7 === 0 && !p.ownBrand ? (({ sentiment: _, ...rest }) => ({ ...rest, language: 'de' }))(p) : p
    const copies = (tag: string) =>
      stored
        .filter((p) => busy.has(p.createdAt.slice(0, 16)) || (p.ownBrand && p.answersMentionAt))
        .map((p, k) =>
          unscored({ ...p, id: `${p.id}-${tag}`, author: { ...p.author, id: `${p.author.id}-${tag}` } }, k),
        )
    const lost = copies('lost')
    expect(lost.filter((p) => p.ownBrand && p.replyTo && p.answersMentionAt).length).toBeGreaterThan(0)
    expect(lost.filter((p) => (p.sentiment?.emotions.length ?? 0) > 0).length).toBeGreaterThan(0)
    expect(lost.filter((p) => !p.sentiment).length).toBeGreaterThan(0)

    const before = await tables(store)
    await failingWrite(store, 'posts', POST_VIEWS, () => store.insertPosts(lost))
    // The posts are stored and the views did not count them: what the recount is for.
    expect(await store.unstoredPosts(lost)).toEqual([])
    expect(await tables(store)).toEqual(before)
    expect(store.recounter.pending).toBe(true)
    // The retry finds them all held, stores nothing, and recounts; the same posts again, written
    // whole with the views, add exactly what the recount did.
    await recountAgainstViews(
      store,
      before,
      () => store.insertPosts(lost),
      () => store.insertPosts(copies('whole')),
    )

    // A second recount of the same minutes adds nothing: what was added is counted.
    const counts = { ...store.recounts }
    store.recounter.note(
      lost.map((p) => minuteOf(p.createdAt)),
      lost.map((p) => ({ id: p.id, createdMs: Date.parse(p.createdAt) })),
    )
    store.recounter.start()
    await store.recounter.done()
    expect(store.recounts).toEqual({ ...counts, runs: counts.runs + 1 })
  })

  it('adds what the view would have for engagement that landed without it', async () => {
    const store = open()
    const copies = (tag: string) => engagement.slice(0, 500).map((u) => ({ ...u, id: `${u.id}-${tag}` }))
    const before = await tables(store)
    await failingWrite(store, 'engagement', ENGAGEMENT_VIEWS, () => store.insertEngagement(copies('lost')))
    expect(await tables(store)).toEqual(before)
    await recountAgainstViews(
      store,
      before,
      () => store.insertEngagement(copies('lost')),
      () => store.insertEngagement(copies('whole')),
    )
  })

  it('recounts a failed write though no write follows it (a bus gave its events to another worker)', async () => {
    const store = open()
    const lost = stored.slice(200, 300).map((p) => ({ ...p, id: `${p.id}-elsewhere` }))
    const before = await tables(store)
    store.recounter.retryMs = 50
    try {
      await failingWrite(store, 'posts', POST_VIEWS, () => store.insertPosts(lost))
      expect(store.recounter.pending).toBe(true)
      // Nothing more is written here.
      await expect.poll(() => store.recounter.pending, { timeout: 10_000 }).toBe(false)
    } finally {
      store.recounter.retryMs = 10_000
    }
    const recounted = addedAll(await tables(store), before)
    expect([...recounted.minutes.values()].reduce((a, r) => a + r.posts!, 0)).toBe(
      lost.reduce((a, p) => a + p.brands.length, 0),
    )
  })

  it('takes again while writes run through its take, and puts off the recount while they keep running', async () => {
    const store = open()
    const lost = stored.slice(0, 200).map((p) => ({ ...p, id: `${p.id}-waited` }))
    const before = await tables(store)
    const target = store as unknown as { writes(): Promise<{ running: boolean; started: number }> }
    const writes = target.writes.bind(store)
    // As the store would answer: a write running at the first take's start; an insert started
    // during the second take; then two takes of the third attempt that are clean.
    const answers = [
      { running: true, started: 0 },
      { running: false, started: 1 },
      { running: false, started: 2 },
    ]
    let asked = 0
    target.writes = async () => answers[asked++] ?? writes()
    store.recounter.tries = 2
    store.recounter.retryMs = 50
    try {
      await failingWrite(store, 'posts', POST_VIEWS, () => store.insertPosts(lost))
      const deferred = store.recounts.deferred
      expect(await store.insertPosts(lost)).toEqual([])
      await expect.poll(() => store.recounter.pending, { timeout: 10_000 }).toBe(false)
      // Two attempts put off (one whose take a write ran through), the third counted.
      expect(store.recounts.deferred).toBe(deferred + 1)
      expect(asked).toBeGreaterThanOrEqual(5)
    } finally {
      target.writes = writes
      store.recounter.tries = 10
      store.recounter.retryMs = 10_000
    }
    const recounted = addedAll(await tables(store), before)
    expect([...recounted.minutes.values()].reduce((a, r) => a + r.posts!, 0)).toBe(
      lost.reduce((a, p) => a + p.brands.length, 0),
    )
  })

  it('recounts the newest minutes after a start: a process killed mid-write leaves no note', async () => {
    const store = open()
    // biome-ignore lint/complexity/useMathMinMax: ISO timestamps compare as strings, not numbers
    const newest = stored.reduce((a, p) => (p.createdAt > a ? p.createdAt : a), '').slice(0, 16)
    const lost = stored.filter((p) => p.createdAt.slice(0, 16) === newest).map((p) => ({ ...p, id: `${p.id}-killed` }))
    expect(lost.length).toBeGreaterThan(0)
    const before = await tables(store)
    for (const view of POST_VIEWS) await exec(store, `DETACH TABLE ${view}`)
    try {
      await store.insertRowsUnchecked('posts', lost.map(postRow))
    } finally {
      for (const view of POST_VIEWS) await exec(store, `ATTACH TABLE ${view}`)
    }
    expect(store.recounter.pending).toBe(false)
    await store.migrate()
    const runs = store.recounts.runs
    await store.insertPosts([])
    await store.recounter.done()
    expect(store.recounter.pending).toBe(false)
    expect(store.recounts.runs).toBe(runs + 1)
    const recounted = addedAll(await tables(store), before)
    expect([...recounted.minutes.values()].reduce((a, r) => a + r.posts!, 0)).toBe(
      lost.reduce((a, p) => a + p.brands.length, 0),
    )
  })

  it('adds nothing when its lock ran out during the take (another process may add the same), and counts once later', async () => {
    const store = open()
    const lost = stored.slice(0, 100).map((p) => ({ ...p, id: `${p.id}-lease` }))
    const before = await tables(store)
    // The renewal before the first add fails (the lease ran out while the take ran); the lock is
    // then held elsewhere until `free`.
    let renewals = 0
    let free = false
    store.recounter.lock = {
      acquire: async () => renewals === 0 || free,
      renew: async () => ++renewals !== 2,
      release: async () => {},
    }
    store.recounter.retryMs = 50
    try {
      await failingWrite(store, 'posts', POST_VIEWS, () => store.insertPosts(lost))
      const deferred = store.recounts.deferred
      expect(await store.insertPosts(lost)).toEqual([])
      await store.recounter.done()
      expect(renewals).toBe(2)
      expect(store.recounts.deferred).toBe(deferred + 1)
      expect(addedAll(await tables(store), before).minutes.size).toBe(0)
      free = true
      await expect.poll(() => store.recounter.pending, { timeout: 10_000 }).toBe(false)
    } finally {
      store.recounter.lock = undefined
      store.recounter.retryMs = 10_000
    }
    const recounted = addedAll(await tables(store), before)
    expect([...recounted.minutes.values()].reduce((a, r) => a + r.posts!, 0)).toBe(
      lost.reduce((a, p) => a + p.brands.length, 0),
    )
  })

  it('takes turns with other processes through its lock', async () => {
    const store = open()
    let held = true
    store.recounter.lock = { acquire: async () => !held, renew: async () => !held, release: async () => {} }
    store.recounter.retryMs = 50
    try {
      const deferred = store.recounts.deferred
      store.recounter.note([minuteOf(stored[0]!.createdAt)])
      store.recounter.start()
      await store.recounter.done()
      expect(store.recounts.deferred).toBe(deferred + 1)
      expect(store.recounter.pending).toBe(true)
      held = false
      await expect.poll(() => store.recounter.pending, { timeout: 10_000 }).toBe(false)
    } finally {
      store.recounter.lock = undefined
      store.recounter.retryMs = 10_000
    }
  })
})
