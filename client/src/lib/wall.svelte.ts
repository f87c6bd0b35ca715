// Live state of the wall, as runes. Buffers are bounded (minutes and posts) so a wall can run for
// days; a snapshot replaces everything, deltas replace the windows they carry.
import type { Clock, ScoredPost, Snapshot, TrackedBrand, WindowAggregate } from '../../../pipelines/schema.ts'
import type { ConnectionState } from './socket.ts'

/** Minutes of history kept in the browser, and shown on the chart. */
export const KEEP_MINUTES = 120
export const CHART_MINUTES = 30
export const KEEP_POSTS = 40
/** The server's clock ticks every second; this long without one and the wall says it is stale. */
export const STALE_AFTER_MS = 3_500
const MINUTE = 60_000

export interface MinutePoint {
  minute: number
  posts: number
  negative: number
  neutral: number
  positive: number
}

export class Wall {
  connection = $state<ConnectionState>('connecting')
  brands = $state.raw<TrackedBrand[]>([])
  selected = $state('')
  windows = $state.raw(new Map<string, WindowAggregate>())
  posts = $state.raw<ScoredPost[]>([])
  /** Event time of the newest post the server has pushed (ms), from snapshots and clock ticks. */
  watermark = $state(0)
  /** Local time (ms) of the last clock tick, and the local time now, ticking once a second. */
  heardAt = $state(0)
  now = $state(Date.now())

  brand = $derived(this.selected || this.brands[0]?.name || '')
  stale = $derived(this.connection === 'live' && this.heardAt > 0 && this.now - this.heardAt > STALE_AFTER_MS)

  /**
   * The selected brand's last CHART_MINUTES minutes up to the watermark's minute, gaps filled with
   * zeros: a quiet stream shows empty minutes arriving rather than a frozen chart.
   */
  series = $derived.by((): MinutePoint[] => {
    const mine = [...this.windows.values()].filter((w) => w.brand === this.brand)
    if (mine.length === 0 && this.watermark === 0) return []
    const newest = Math.max(this.watermark - (this.watermark % MINUTE), ...mine.map((w) => Date.parse(w.minute)))
    const byMinute = new Map(mine.map((w) => [Date.parse(w.minute), w]))
    return Array.from({ length: CHART_MINUTES }, (_, i) => {
      const minute = newest - (CHART_MINUTES - 1 - i) * MINUTE
      const w = byMinute.get(minute)
      return { minute, posts: w?.posts ?? 0, negative: w?.negative ?? 0, neutral: w?.neutral ?? 0, positive: w?.positive ?? 0 }
    })
  })

  brandPosts = $derived(this.posts.filter((p) => p.brands.includes(this.brand)))

  applySnapshot(snapshot: Snapshot): void {
    this.brands = snapshot.brands
    this.applyClock(snapshot)
    this.windows = new Map()
    this.applyWindows(snapshot.aggregates)
    this.posts = snapshot.recentPosts.slice(0, KEEP_POSTS)
  }

  applyWindows(windows: readonly WindowAggregate[]): void {
    const next = new Map(this.windows)
    let newest = 0
    for (const w of next.values()) newest = Math.max(newest, Date.parse(w.minute))
    for (const w of windows) {
      next.set(`${w.brand}|${w.minute}`, w)
      newest = Math.max(newest, Date.parse(w.minute))
    }
    for (const [key, w] of next) if (Date.parse(w.minute) < newest - KEEP_MINUTES * MINUTE) next.delete(key)
    this.windows = next
  }

  applyClock(clock: Pick<Clock, 'watermark'>): void {
    if (clock.watermark) this.watermark = Math.max(this.watermark, Date.parse(clock.watermark))
    this.heardAt = Date.now()
  }

  addPosts(posts: readonly ScoredPost[]): void {
    this.posts = [...posts.slice().reverse(), ...this.posts].slice(0, KEEP_POSTS)
  }
}

/** Sums of a series, for headline figures. */
export function totals(points: readonly MinutePoint[]) {
  return points.reduce(
    (t, p) => ({ posts: t.posts + p.posts, negative: t.negative + p.negative, neutral: t.neutral + p.neutral, positive: t.positive + p.positive }),
    { posts: 0, negative: 0, neutral: 0, positive: 0 },
  )
}
