// Recounting the minute tables after a write whose outcome is unknown.
//
// A write to posts or engagement and the materialized views it fires are not one transaction in
// ClickHouse: the table's part is committed first, then each view's, one after the other. A write
// that fails part way (the server killed, a view's insert refused) can leave rows stored in posts
// but not counted in brand_source_minute, brand_authors or brand_replies; the retry finds the rows
// held and skips them, as it must. So the store notes the minutes (and the brand replies) of every
// write that failed, and of rows a duplicate check finds held (a replay after a crash), and once the
// store answers again, recounts those minutes from the tables that hold the rows and adds what the
// views lack, in the background.
//
// - Only what is missing is added, and only where nothing is counted beyond the rows: a minute that
//   counts more than its rows in any column (a post deleted and purged since) is left as it is.
// - Another write may be between its part and its views at that moment (the other sink, another
//   worker, a failed insert the server still runs): so a recount that finds something missing
//   counts only if no write to these tables ran at its start and none started or ran until its end
//   (asked of the store: system.processes, and its count of inserts started); otherwise it is taken
//   again a moment later. Where several processes write (workers around a bus), one recounts at a
//   time (a lock), so that two cannot add the same rows.
// - The queries mirror the views of migration 3 (migrations.ts), column for column;
//   tests/store/recount.test.ts checks that what a recount adds is what the views would have.
import type { Params } from './bind.ts'

const INTENTS = ['question', 'suggestion', 'complaint', 'praise', 'comparison', 'support']
/** brand_source_minute's counts that posts feed. */
const POST_COUNTS = ['posts', 'negative', 'neutral', 'positive', 'mixed', 'uncertain', 'middle', 'needs_reply', ...INTENTS]
/** brand_source_minute's sums that posts (their counts at post time) and engagement both feed. */
const ENGAGEMENT_SUMS = ['likes', 'reposts', 'replies', 'quotes']
export const MINUTE_COLUMNS = [...POST_COUNTS, ...ENGAGEMENT_SUMS]

const sums = ENGAGEMENT_SUMS.map((c) => `toUInt64(sum(${c})) AS ${c}`).join(', ')
const IN_MINUTES = (column: string) => `${column} >= toDateTime({fromS:UInt32}) AND ${column} < toDateTime({toS:UInt32}) AND toUInt32(toStartOfMinute(${column})) IN (SELECT arrayJoin({minutes:Array(UInt32)}))`

export const POST_MINUTES = `
SELECT arrayJoin(brands) AS brand, source, toUInt32(toStartOfMinute(created_at)) AS m,
  toUInt64(count()) AS posts,
  toUInt64(countIf(label = 'negative')) AS negative,
  toUInt64(countIf(label = 'neutral')) AS neutral,
  toUInt64(countIf(label = 'positive')) AS positive,
  toUInt64(countIf(mixed = 1)) AS mixed,
  toUInt64(countIf(uncertain = 1)) AS uncertain,
  toUInt64(sum(middle)) AS middle,
  toUInt64(countIf(has(needs_reply, brand))) AS needs_reply,
  ${INTENTS.map((i) => `toUInt64(countIf(has(intents, '${i}'))) AS ${i}`).join(',\n  ')},
  ${sums}
FROM posts WHERE ${IN_MINUTES('created_at')}
GROUP BY brand, source, m`

export const ENGAGEMENT_MINUTES = `
SELECT arrayJoin(brands) AS brand, source, toUInt32(toStartOfMinute(at)) AS m, ${sums}
FROM engagement WHERE ${IN_MINUTES('at')}
GROUP BY brand, source, m`

export const COUNTED_MINUTES = `
SELECT brand, source, toUInt32(minute) AS m, ${MINUTE_COLUMNS.map((c) => `toUInt64(sum(${c})) AS ${c}`).join(', ')}
FROM brand_source_minute WHERE ${IN_MINUTES('minute')}
GROUP BY brand, source, m`

/**
 * Author rows the view lacks: an author counts in a minute by having a row there, and reach takes
 * their highest followers in it. (Rows written before migration 3 hold only the minute's highest
 * followers, so the recount goes by author and followers, not row by row.) Joined in the store:
 * a busy hour has hundreds of thousands of authors.
 */
export const MISSING_AUTHORS = `
SELECT brand, source, m, author_id, followers, posts FROM (
  SELECT arrayJoin(brands) AS brand, source, toUInt32(toStartOfMinute(created_at)) AS m, author_id, author_followers AS followers, toUInt64(count()) AS posts
  FROM posts WHERE ${IN_MINUTES('created_at')}
  GROUP BY brand, source, m, author_id, followers
) AS written ANY LEFT JOIN (
  SELECT brand, source, toUInt32(minute) AS m, author_id, max(followers) AS counted_followers, toUInt64(sum(posts)) AS counted_posts
  FROM brand_authors WHERE ${IN_MINUTES('minute')}
  GROUP BY brand, source, m, author_id
) AS counted USING (brand, source, m, author_id)
WHERE counted_posts = 0 OR followers > counted_followers`

/** Brand replies among `ids` that brand_replies lacks, as the view would have written them. */
export const MISSING_REPLIES = `
SELECT own_brand AS brand, reply_to, id AS reply_id, toUInt32(created_at) AS replied_at, created_ms AS replied_ms,
  toUInt32(toStartOfMinute(toDateTime(intDiv(answers_mention_ms, 1000), 'UTC'))) AS mention_minute, answers_mention_ms AS mention_ms,
  mention_needs_reply AS needed
FROM posts
WHERE created_at >= toDateTime({fromS:UInt32}) AND created_at <= toDateTime({toS:UInt32})
  AND id IN (SELECT arrayJoin({ids:Array(String)}))
  AND own_brand != '' AND reply_to != '' AND answers_mention_ms > 0
  AND id NOT IN (SELECT reply_id FROM brand_replies WHERE reply_id IN (SELECT arrayJoin({ids:Array(String)})))`

export function minutesParams(minutesS: readonly number[]): Params {
  return { minutes: [...minutesS], fromS: Math.min(...minutesS), toS: Math.max(...minutesS) + 60 }
}

export function repliesParams(replies: readonly { id: string; createdMs: number }[]): Params {
  const times = replies.map((r) => r.createdMs)
  return { ids: replies.map((r) => r.id), fromS: Math.floor(Math.min(...times) / 1000), toS: Math.ceil(Math.max(...times) / 1000) }
}

type Counts = Record<string, number>

/** Rows keyed by `keyOf`, their `columns` as numbers, summed when a key comes twice. */
export function tally(rows: readonly Record<string, unknown>[], keyOf: (row: Record<string, unknown>) => string, columns: readonly string[]): Map<string, Counts> {
  const out = new Map<string, Counts>()
  for (const row of rows) {
    const key = keyOf(row)
    const counts = out.get(key) ?? Object.fromEntries(columns.map((c) => [c, 0]))
    for (const c of columns) counts[c]! += Number(row[c] ?? 0)
    out.set(key, counts)
  }
  return out
}

/**
 * Per key, what `expected` has beyond `counted`, where `counted` has nothing beyond `expected` in
 * any column: a key that counts more than its rows somewhere (a purged post) is not mended, as the
 * difference could not be told apart from the purge.
 */
export function missing(expected: Map<string, Counts>, counted: Map<string, Counts>, columns: readonly string[]): Map<string, Counts> {
  const out = new Map<string, Counts>()
  for (const [key, want] of expected) {
    const have = counted.get(key)
    const lack = Object.fromEntries(columns.map((c) => [c, want[c]! - (have?.[c] ?? 0)]))
    if (columns.some((c) => lack[c]! > 0) && columns.every((c) => lack[c]! >= 0)) out.set(key, lack)
  }
  return out
}

/** What a store must recount once it answers again: the minutes and brand replies of failed writes. */
export class UncertainWrites {
  /** Bounds on what is remembered: a longer outage is rarer than a crash mid-write (see `dropped`). */
  static readonly MAX_MINUTES = 100_000
  static readonly MAX_REPLIES = 100_000
  minutes = new Set<number>()
  replies = new Map<string, number>()
  /** Minutes and replies not remembered past the bounds: they cannot be recounted. */
  dropped = 0

  get empty(): boolean {
    return this.minutes.size === 0 && this.replies.size === 0
  }

  note(minutesS: Iterable<number>, replies: Iterable<{ id: string; createdMs: number }> = []): void {
    for (const m of minutesS) {
      if (this.minutes.size < UncertainWrites.MAX_MINUTES) this.minutes.add(m)
      else if (!this.minutes.has(m)) this.dropped++
    }
    for (const r of replies) {
      if (this.replies.size < UncertainWrites.MAX_REPLIES) this.replies.set(r.id, r.createdMs)
      else if (!this.replies.has(r.id)) this.dropped++
    }
  }

  /** Everything noted so far, forgotten here (noted again with `note` if the recount fails). */
  take(): { minutesS: number[]; replies: { id: string; createdMs: number }[] } {
    const taken = { minutesS: [...this.minutes].sort((a, b) => a - b), replies: [...this.replies].map(([id, createdMs]) => ({ id, createdMs })) }
    this.minutes = new Set()
    this.replies = new Map()
    return taken
  }
}

/** One recount at a time across processes that write the same store (bus/recount-lock.ts). */
export interface RecountLock {
  /** True when this process may recount now; false when another one does. */
  acquire(): Promise<boolean>
  /** Keeps the lock a while longer; false when it was lost (its lease ran out and another took it). */
  renew(): Promise<boolean>
  release(): Promise<void>
}

/** Writes to the counted tables, as the store sees them now. */
export interface Writes {
  /** Whether a write to posts, engagement or the minute tables runs now. */
  running: boolean
  /** How many inserts the store has started so far (any table): a change means one started. */
  started: number
}

/** What a recount needs of its store. */
export interface RecountStore {
  rows(sql: string, params: Params): Promise<Record<string, unknown>[]>
  insertRows(table: string, rows: readonly object[]): Promise<void>
  writes(): Promise<Writes>
}

/** Minutes recounted per query, at most, and within an hour of each other (the scan spans them). */
const RECOUNT_MINUTES = 10
const SPAN_S = 3_600
const REPLIES_PER_QUERY = 2_000

/** Notes what failed writes may have left uncounted, and recounts it in the background. */
export class Recounter {
  readonly uncertain = new UncertainWrites()
  readonly counts = { runs: 0, minuteRowsAdded: 0, authorRowsAdded: 0, repliesAdded: 0, failures: 0, deferred: 0 }
  /** Takes of one span before the recount is put off, while writes keep running through them. */
  tries = 10
  /** The pause between two takes of a span. */
  pauseMs = 200
  /** How long after a recount that could not run (the store down, writes running) it is tried again. */
  retryMs = 10_000
  lock: RecountLock | undefined
  private running = false
  private run: Promise<void> = Promise.resolve()
  private retry: ReturnType<typeof setTimeout> | undefined
  private closed = false

  constructor(private readonly store: RecountStore) {}

  /** Whether anything waits to be recounted, or is being recounted now. */
  get pending(): boolean {
    return this.running || !this.uncertain.empty
  }

  note(minutesS: Iterable<number>, replies?: Iterable<{ id: string; createdMs: number }>): void {
    this.uncertain.note(minutesS, replies)
  }

  /** Starts a recount in the background, unless one runs or waits to be tried again. */
  start(): void {
    if (this.closed || this.running || this.retry || this.uncertain.empty) return
    this.running = true
    this.run = this.once().finally(() => {
      this.running = false
    })
  }

  /** Settles when the recount running now (if any) has ended. */
  done(): Promise<void> {
    return this.run
  }

  /** Stops between two spans; what is left stays noted (and is lost with the process). */
  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    this.retry = undefined
    await this.run
  }

  private async once(): Promise<void> {
    const taken = this.uncertain.take()
    let locked = false
    try {
      if (this.lock && !(locked = await this.lock.acquire())) throw new Deferred('another process recounts')
      await this.recount(taken.minutesS, taken.replies)
      this.counts.runs++
    } catch (error) {
      if (error instanceof Deferred) this.counts.deferred++
      else this.counts.failures++
      this.uncertain.note(taken.minutesS, taken.replies)
      if (!this.closed) {
        this.retry = setTimeout(() => {
          this.retry = undefined
          this.start()
        }, this.retryMs)
        this.retry.unref?.()
      }
    } finally {
      if (locked) await this.lock!.release().catch(() => undefined)
    }
  }

  private async recount(minutesS: readonly number[], replies: readonly { id: string; createdMs: number }[]): Promise<void> {
    const minuteKey = (r: Record<string, unknown>) => `${String(r.brand)}\u0000${String(r.source)}\u0000${Number(r.m)}`
    const authorKey = (r: Record<string, unknown>) => `${minuteKey(r)}\u0000${String(r.author_id)}\u0000${Number(r.followers)}`
    const take = async (params: Params) => {
      const posts = await this.store.rows(POST_MINUTES, params)
      const engagement = await this.store.rows(ENGAGEMENT_MINUTES, params)
      const counted = await this.store.rows(COUNTED_MINUTES, params)
      return {
        minutes: missing(tally([...posts, ...engagement], minuteKey, MINUTE_COLUMNS), tally(counted, minuteKey, MINUTE_COLUMNS), MINUTE_COLUMNS),
        authors: tally(await this.store.rows(MISSING_AUTHORS, params), authorKey, ['posts']),
      }
    }
    // Oldest first; what a failure leaves is noted again whole (a span recounted twice adds nothing).
    for (const span of spans(minutesS)) {
      const params = minutesParams(span)
      for (let attempt = 1; ; attempt++) {
        if (this.closed) throw new Deferred('closing')
        if (this.lock && !(await this.lock.renew())) throw new Deferred('the recount lock was lost')
        const before = await this.store.writes()
        const lacking = before.running ? undefined : await take(params)
        if (lacking && lacking.minutes.size === 0 && lacking.authors.size === 0) break
        const after = lacking ? await this.store.writes() : before
        if (lacking && !after.running && after.started === before.started) {
          await this.add(lacking.minutes, lacking.authors)
          break
        }
        // A write ran through the take: what it had stored and not yet counted looked missing.
        if (attempt >= this.tries) throw new Deferred('writes to the counted tables kept running')
        await new Promise((resolve) => setTimeout(resolve, this.pauseMs))
      }
    }
    // brand_replies holds each reply once (ReplacingMergeTree; readers take the first reply per
    // mention, so even a row added twice would change nothing): a reply the view lacks is added.
    for (const part of chunks(replies, REPLIES_PER_QUERY)) {
      const lacking = await this.store.rows(MISSING_REPLIES, repliesParams(part))
      if (lacking.length === 0) continue
      // Every column given: 18.x fills an omitted one with its type's default.
      const numeric = ['replied_at', 'replied_ms', 'mention_minute', 'mention_ms', 'needed']
      await this.store.insertRows('brand_replies', lacking.map((r) => ({ ...r, ...Object.fromEntries(numeric.map((c) => [c, Number(r[c])])) })))
      this.counts.repliesAdded += lacking.length
    }
  }

  private async add(minutes: Map<string, Counts>, authors: Map<string, Counts>): Promise<void> {
    const split = (key: string) => key.split('\u0000')
    if (minutes.size > 0) {
      await this.store.insertRows('brand_source_minute', [...minutes].map(([key, counts]) => {
        const [brand, source, m] = split(key)
        return { brand, source, minute: Number(m), ...counts }
      }))
      this.counts.minuteRowsAdded += minutes.size
    }
    if (authors.size > 0) {
      await this.store.insertRows('brand_authors', [...authors].map(([key, counts]) => {
        const [brand, source, m, author_id, followers] = split(key)
        return { brand, source, minute: Number(m), author_id, followers: Number(followers), posts: counts.posts }
      }))
      this.counts.authorRowsAdded += authors.size
    }
  }
}

/** Sorted minutes in spans of at most RECOUNT_MINUTES, each within SPAN_S. */
function spans(minutesS: readonly number[]): number[][] {
  const out: number[][] = []
  for (const m of minutesS) {
    const last = out.at(-1)
    if (last && last.length < RECOUNT_MINUTES && m - last[0]! < SPAN_S) last.push(m)
    else out.push([m])
  }
  return out
}

/** A recount put off, not failed: writes were running, or another process recounts. */
class Deferred extends Error {
  override name = 'Deferred'
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
