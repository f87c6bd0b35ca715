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
// - The queries (recount-queries.ts) mirror the views of migrations 3 and 4, column for column;
//   tests/pipelines/store/recount.test.ts checks that what a recount adds is what the views would have.
import type { Params } from './bind.ts'
import { chunks } from './lists.ts'
import {
  COUNTED_MINUTES,
  type Counts,
  ENGAGEMENT_MINUTES,
  MINUTE_COLUMNS,
  MISSING_AUTHORS,
  MISSING_REPLIES,
  minutesParams,
  missing,
  POST_MINUTES,
  repliesParams,
  tally,
} from './recount-queries.ts'

/** The tables a recount reads: a write to one of them running during a take spoils it. */
export const COUNTED_TABLES = ['posts', 'engagement', 'brand_source_minute', 'brand_authors', 'brand_replies']

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
    const taken = {
      minutesS: [...this.minutes].sort((a, b) => a - b),
      replies: [...this.replies].map(([id, createdMs]) => ({ id, createdMs })),
    }
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
  /** How long after a recount that could not run (the store down, writes running) it is tried again, and after a note that no write followed. */
  retryMs = 10_000
  lock: RecountLock | undefined
  private running = false
  private run: Promise<void> = Promise.resolve()
  private retry: ReturnType<typeof setTimeout> | undefined
  /** A recount started later for what was noted with no write to start one (see `note`). */
  private wake: ReturnType<typeof setTimeout> | undefined
  private closed = false

  constructor(private readonly store: RecountStore) {}

  /** Whether anything waits to be recounted, or is being recounted now. */
  get pending(): boolean {
    return this.running || !this.uncertain.empty
  }

  /**
   * Notes minutes to recount. A write that succeeds starts the recount; but the retry of a failed
   * write may never come here (a bus hands its events to another worker, and the stream may end),
   * so what is noted is recounted a while later in any case.
   */
  note(minutesS: Iterable<number>, replies?: Iterable<{ id: string; createdMs: number }>): void {
    this.uncertain.note(minutesS, replies)
    this.startLater()
  }

  /** Starts a recount in the background, unless one runs or waits to be tried again. */
  start(): void {
    if (this.closed || this.running || this.retry || this.uncertain.empty) return
    clearTimeout(this.wake)
    this.wake = undefined
    this.running = true
    this.run = this.once().finally(() => {
      this.running = false
      // Noted while it ran, after its take.
      this.startLater()
    })
  }

  private startLater(): void {
    if (this.closed || this.running || this.retry || this.wake || this.uncertain.empty) return
    this.wake = setTimeout(() => {
      this.wake = undefined
      this.start()
    }, this.retryMs)
    this.wake.unref?.()
  }

  /** Settles when the recount running now (if any) has ended. */
  done(): Promise<void> {
    return this.run
  }

  /** Stops between two spans; what is left stays noted (and is lost with the process). */
  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    clearTimeout(this.wake)
    this.retry = this.wake = undefined
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

  private async recount(
    minutesS: readonly number[],
    replies: readonly { id: string; createdMs: number }[],
  ): Promise<void> {
    const minuteKey = (r: Record<string, unknown>) => `${String(r.brand)}\u0000${String(r.source)}\u0000${Number(r.m)}`
    const authorKey = (r: Record<string, unknown>) =>
      `${minuteKey(r)}\u0000${String(r.author_id)}\u0000${Number(r.followers)}`
    const take = async (params: Params) => {
      const posts = await this.store.rows(POST_MINUTES, params)
      const engagement = await this.store.rows(ENGAGEMENT_MINUTES, params)
      const counted = await this.store.rows(COUNTED_MINUTES, params)
      return {
        minutes: missing(
          tally([...posts, ...engagement], minuteKey, MINUTE_COLUMNS),
          tally(counted, minuteKey, MINUTE_COLUMNS),
          MINUTE_COLUMNS,
        ),
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
          // The take may have outlasted the lease: another process may be adding the same rows.
          if (this.lock && !(await this.lock.renew())) throw new Deferred('the recount lock was lost')
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
      await this.store.insertRows(
        'brand_replies',
        lacking.map((r) => ({ ...r, ...Object.fromEntries(numeric.map((c) => [c, Number(r[c])])) })),
      )
      this.counts.repliesAdded += lacking.length
    }
  }

  private async add(minutes: Map<string, Counts>, authors: Map<string, Counts>): Promise<void> {
    const split = (key: string) => key.split('\u0000')
    if (minutes.size > 0) {
      await this.store.insertRows(
        'brand_source_minute',
        [...minutes].map(([key, counts]) => {
          const [brand, source, m] = split(key)
          return { brand, source, minute: Number(m), ...counts }
        }),
      )
      this.counts.minuteRowsAdded += minutes.size
    }
    if (authors.size > 0) {
      await this.store.insertRows(
        'brand_authors',
        [...authors].map(([key, counts]) => {
          const [brand, source, m, author_id, followers] = split(key)
          return { brand, source, minute: Number(m), author_id, followers: Number(followers), posts: counts.posts }
        }),
      )
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
