// The live side of the metrics: per brand and per source (and all sources), one Counts per
// event-time minute for the last 24 hours, and each author's latest minute and followers. Every
// window (definition.ts) is then a sum over its minutes, so a window never needs its own state and
// a post that arrives late still lands in each window that covers its minute.
//
// Event time: windows end at the newest minute seen, whatever the wall clock says (a replay of last
// week shows last week's windows). What is older than the longest window is not counted live
// (`late`): no window covers it any more.
import { MINUTE_MS, minuteOfIso } from '../time.ts'
import type { BrandMetrics, ScoredPost, SourceName, TrackedBrand, AttributedEngagement } from '../schema.ts'
import { ALL_SOURCES, WINDOW_MINUTES, WINDOW_NAMES } from '../schema.ts'
import { addCounts, type Counts, countEngagement, countPost, derive, emptyCounts } from './definition.ts'

/** How far one event may move event time on at once, unless the wall clock vouches for it. */
export const MAX_EVENT_JUMP_MS = 60 * 60_000
export const CLOCK_SKEW_MS = 5 * 60_000

/**
 * Whether an event at `t` may move event time on from `newest` (0: none yet). A post from a source
 * with a bad clock (a year ahead, say) would otherwise end every window in the future and leave
 * every real post late. Replays of the past, and the simulator running ahead of the clock in steps,
 * move on as they go.
 */
export const plausibleTime = (t: number, newest: number, now = Date.now()) =>
  t <= Math.max(newest > 0 ? newest + MAX_EVENT_JUMP_MS : Number.NEGATIVE_INFINITY, now + CLOCK_SKEW_MS)

/** Minutes kept: the longest window. */
export const LEDGER_MINUTES = Math.max(...Object.values(WINDOW_MINUTES))
const SWEEP_AT_LEAST = 10_000

type SourceKey = SourceName | typeof ALL_SOURCES

/** One brand on one source (or all): its minutes and its authors. */
interface Book {
  brand: string
  source: SourceKey
  minutes: Map<number, Counts>
  /** Each author's latest minute, and their most followers seen in it. */
  authors: Map<string, { minute: number; followers: number }>
  /** Per minute: the authors whose latest minute it is, and their followers summed. */
  latest: Map<number, { authors: number; reach: number }>
  /** Authors whose latest minute is still kept (the rest of `authors` waits to be swept). */
  current: number
}

/** What a ledger resumes from after a restart: the stored minutes and authors of the last day. */
export interface LedgerSeed {
  minutes: { brand: string; source: SourceName; minute: number; counts: Counts }[]
  /** Per brand and source, and per brand over all sources (`source: 'all'`). */
  authors: { brand: string; source: SourceKey; authorId: string; minute: number; followers: number }[]
}

export class MetricsLedger {
  private readonly books = new Map<string, Book>()
  private readonly rivals: Map<string, readonly string[]>
  /** Start (epoch ms) of the newest minute seen; 0 before anything. */
  newest = 0
  /** Posts and engagement older than every window: stored, not counted live. */
  late = 0
  /** Posts too far ahead of event time and the clock to be believed (see plausibleTime): stored, not counted live. */
  early = 0

  constructor(tracking: readonly TrackedBrand[]) {
    this.rivals = new Map(tracking.map((b) => [b.name, b.competitors]))
  }

  /** Resumes from what the store holds (see LedgerSeed), before the first live event. */
  seed(seed: LedgerSeed): void {
    for (const m of seed.minutes) if (m.counts.posts > 0) this.newest = Math.max(this.newest, m.minute)
    const oldest = this.newest - (LEDGER_MINUTES - 1) * MINUTE_MS
    for (const m of seed.minutes) {
      if (m.minute < oldest) continue
      addCounts(this.minute(this.book(m.brand, m.source), m.minute), m.counts)
      addCounts(this.minute(this.book(m.brand, ALL_SOURCES), m.minute), m.counts)
    }
    for (const a of seed.authors)
      if (a.minute >= oldest) seeAuthor(this.book(a.brand, a.source), a.authorId, a.followers, a.minute)
  }

  addPost(post: ScoredPost): void {
    const minute = this.admit(post.createdAt)
    if (minute === null) return
    for (const brand of post.brands) {
      for (const source of [post.source, ALL_SOURCES] as const) {
        const book = this.book(brand, source)
        countPost(this.minute(book, minute), post)
        seeAuthor(book, post.author.id, post.author.followers, minute)
      }
    }
  }

  /** Engagement on a post, in the minute it arrived; unattributed updates count for no brand. */
  addEngagement(update: AttributedEngagement): void {
    if (update.source === '' || update.brands.length === 0) return
    // Engagement does not move the windows on: they end with the newest post's minute, as the
    // history query's default window does. Engagement newer than that waits in its minute.
    const minute = this.admit(update.at, false)
    if (minute === null) return
    for (const brand of update.brands)
      for (const source of [update.source, ALL_SOURCES] as const)
        countEngagement(this.minute(this.book(brand, source), minute), update.delta)
  }

  /** Every window of every book, as of the newest minute; nothing before the first event. */
  metrics(): BrandMetrics[] {
    if (this.newest === 0) return []
    const to = this.newest + MINUTE_MS
    const out: BrandMetrics[] = []
    for (const window of WINDOW_NAMES) {
      const from = to - WINDOW_MINUTES[window] * MINUTE_MS
      const sums = new Map<string, Counts>()
      for (const [key, book] of this.books) sums.set(key, this.sum(book, from, to))
      for (const [key, book] of this.books) {
        let rivalPosts = 0
        for (const rival of this.rivals.get(book.brand) ?? [])
          rivalPosts += sums.get(bookKey(rival, book.source))?.posts ?? 0
        let authors = 0
        let reach = 0
        for (const [m, l] of book.latest) {
          if (m < from) continue
          authors += l.authors
          reach += l.reach
        }
        out.push(
          derive({
            brand: book.brand,
            source: book.source,
            window,
            from: iso(from),
            to: iso(to),
            counts: sums.get(key)!,
            authors,
            reach,
            rivalPosts,
          }),
        )
      }
    }
    return out
  }

  /** The event's minute, moving the windows on when it is the newest; null when it is too old. */
  private admit(at: string, advance = true): number | null {
    const minute = minuteOfIso(at)
    if (minute > this.newest && !plausibleTime(Date.parse(at), this.newest)) {
      this.early++
      return null
    }
    if (advance && minute > this.newest) {
      this.newest = minute
      this.prune()
    }
    if (minute <= this.newest - LEDGER_MINUTES * MINUTE_MS) {
      this.late++
      return null
    }
    return minute
  }

  private prune(): void {
    const oldest = this.newest - (LEDGER_MINUTES - 1) * MINUTE_MS
    for (const book of this.books.values()) {
      for (const m of book.minutes.keys()) if (m < oldest) book.minutes.delete(m)
      for (const [m, l] of book.latest) {
        if (m >= oldest) continue
        book.latest.delete(m)
        book.current -= l.authors
      }
      // Authors whose latest minute has left the longest window are swept once they are as many
      // as the rest: memory stays within twice the day's authors, at a constant cost per post.
      if (book.authors.size - book.current > book.current + SWEEP_AT_LEAST)
        for (const [id, a] of book.authors) if (a.minute < oldest) book.authors.delete(id)
    }
  }

  private sum(book: Book, from: number, to: number): Counts {
    const total = emptyCounts()
    for (const [m, counts] of book.minutes) if (m >= from && m < to) addCounts(total, counts)
    return total
  }

  private book(brand: string, source: SourceKey): Book {
    const key = bookKey(brand, source)
    let book = this.books.get(key)
    if (!book) {
      book = { brand, source, minutes: new Map(), authors: new Map(), latest: new Map(), current: 0 }
      this.books.set(key, book)
    }
    return book
  }

  private minute(book: Book, minute: number): Counts {
    let counts = book.minutes.get(minute)
    if (!counts) {
      counts = emptyCounts()
      book.minutes.set(minute, counts)
    }
    return counts
  }
}

const bookKey = (brand: string, source: SourceKey) => `${brand}\u0000${source}`
const iso = (ms: number) => new Date(ms).toISOString()

/** Keeps each author once, at their latest minute, with the most followers seen in that minute. */
function seeAuthor(book: Book, id: string, followers: number, minute: number): void {
  const seen = book.authors.get(id)
  if (seen && seen.minute > minute) return
  if (seen && seen.minute === minute) {
    if (followers <= seen.followers) return
    book.latest.get(minute)!.reach += followers - seen.followers
    seen.followers = followers
    return
  }
  if (seen) {
    const before = book.latest.get(seen.minute)
    // Absent when that minute was pruned: the author had left every window already.
    if (before) {
      before.authors--
      before.reach -= seen.followers
      book.current--
    }
  }
  book.current++
  book.authors.set(id, { minute, followers })
  const now = book.latest.get(minute)
  if (now) {
    now.authors++
    now.reach += followers
  } else book.latest.set(minute, { authors: 1, reach: followers })
}
