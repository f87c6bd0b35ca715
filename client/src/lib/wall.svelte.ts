// Live state of the wall, as runes. Every buffer is bounded (minutes, posts, alerts; metrics and
// readings are one per brand x source x window) so a wall can run for days; a snapshot replaces
// everything, and each delta replaces what it carries.
import { MINUTE_MS } from '../../../pipelines/time.ts'
import type {
  Alert,
  BrandMetrics,
  Clock,
  Dialogue,
  Responsiveness,
  RiskReading,
  ScoredPost,
  Snapshot,
  TrackedBrand,
  WindowAggregate,
  WindowName,
} from '../../../pipelines/schema.ts'
import { isMiddle } from '../../../pipelines/vocabulary.ts'
import type { ConnectionState } from './socket.ts'

/** Minutes of history kept in the browser, and shown on the chart. */
export const KEEP_MINUTES = 120
export const CHART_MINUTES = 30
export const KEEP_POSTS = 40
export const KEEP_ALERTS = 50
/** The server's clock ticks every second; this long without one and the wall says it is stale. */
export const STALE_AFTER_MS = 3_500

export interface MinutePoint {
  minute: number
  posts: number
  negative: number
  neutral: number
  positive: number
  /** In a language the classifier does not read: in `posts`, in no label. */
  unscored: number
}

export class Wall {
  connection = $state<ConnectionState>('connecting')
  /** Whether this page may act (acknowledge alerts): not with a viewer's token. */
  canAct = $state(true)
  brands = $state.raw<TrackedBrand[]>([])
  selected = $state('')
  windows = $state.raw(new Map<string, WindowAggregate>())
  /** Newest first, per brand: a busy brand does not push its rivals' posts out. */
  posts = $state.raw(new Map<string, ScoredPost[]>())
  /** The middle of the crowd (neutral, mixed, uncertain, questions, suggestions), newest first, per brand. */
  middlePosts = $state.raw(new Map<string, ScoredPost[]>())
  metrics = $state.raw(new Map<string, BrandMetrics>())
  risk = $state.raw(new Map<string, RiskReading>())
  responsiveness = $state.raw(new Map<string, Responsiveness>())
  dialogue = $state.raw(new Map<string, Dialogue>())
  /** The latest state of the alerts heard of, by id, oldest first. */
  alerts = $state.raw(new Map<string, Alert>())
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
    const newest = Math.max(this.watermark - (this.watermark % MINUTE_MS), ...mine.map((w) => Date.parse(w.minute)))
    const byMinute = new Map(mine.map((w) => [Date.parse(w.minute), w]))
    return Array.from({ length: CHART_MINUTES }, (_, i) => {
      const minute = newest - (CHART_MINUTES - 1 - i) * MINUTE_MS
      const w = byMinute.get(minute)
      return {
        minute,
        posts: w?.posts ?? 0,
        negative: w?.negative ?? 0,
        neutral: w?.neutral ?? 0,
        positive: w?.positive ?? 0,
        unscored: w?.unscored ?? 0,
      }
    })
  })

  brandPosts = $derived(this.posts.get(this.brand) ?? [])
  brandMiddle = $derived(this.middlePosts.get(this.brand) ?? [])
  /** Every brand's recent posts, for looking up an alert's examples. */
  allPosts = $derived([...this.posts.values()].flat())
  /** Alerts not yet resolved, for the banner: open before acknowledged, critical first, then the newest. */
  activeAlerts = $derived(
    [...this.alerts.values()]
      .filter((a) => a.state !== 'resolved')
      .sort(
        (a, b) =>
          Number(a.state === 'acknowledged') - Number(b.state === 'acknowledged') ||
          Number(b.severity === 'critical') - Number(a.severity === 'critical') ||
          b.at.localeCompare(a.at),
      ),
  )

  /** One brand's live metrics over a window, all sources unless one is named. */
  metricsOf(brand: string, window: WindowName, source = 'all'): BrandMetrics | undefined {
    return this.metrics.get(`${brand}|${source}|${window}`)
  }

  applySnapshot(snapshot: Snapshot): void {
    this.brands = snapshot.brands
    // A snapshot says where event time is now, even behind where it was (a new store, a replay).
    this.watermark = snapshot.watermark ? Date.parse(snapshot.watermark) : 0
    this.applyClock(snapshot)
    this.windows = new Map()
    this.applyWindows(snapshot.aggregates)
    this.posts = new Map()
    this.middlePosts = new Map()
    this.addPosts(snapshot.recentPosts.slice().reverse())
    this.metrics = new Map()
    this.applyMetrics(snapshot.metrics)
    this.risk = new Map()
    this.applyRisk(snapshot.risk)
    this.responsiveness = new Map()
    this.applyResponsiveness(snapshot.responsiveness)
    this.dialogue = new Map()
    this.applyDialogue(snapshot.dialogue)
    this.alerts = new Map()
    for (const alert of snapshot.alerts) this.applyAlert(alert)
  }

  applyMetrics(metrics: readonly BrandMetrics[]): void {
    const next = new Map(this.metrics)
    for (const m of metrics) next.set(`${m.brand}|${m.source}|${m.window}`, m)
    this.metrics = next
  }

  applyRisk(readings: readonly RiskReading[]): void {
    this.risk = byBrand(this.risk, readings)
  }

  applyResponsiveness(brands: readonly Responsiveness[]): void {
    this.responsiveness = byBrand(this.responsiveness, brands)
  }

  applyDialogue(brands: readonly Dialogue[]): void {
    this.dialogue = byBrand(this.dialogue, brands)
  }

  /**
   * The answer to this page's own acknowledgement. The live event usually comes first, and a later
   * change (escalated, resolved) may have too: the answer only moves an alert still held as open.
   */
  applyAcknowledged(alert: Alert): void {
    const held = this.alerts.get(alert.id)
    if (!held || held.state === 'open') this.applyAlert(held ? { ...held, state: 'acknowledged' } : alert)
  }

  /** A raised alert, or a new state of one: it moves to the end (newest change last). */
  applyAlert(alert: Alert): void {
    const next = new Map(this.alerts)
    next.delete(alert.id)
    next.set(alert.id, alert)
    // Only the resolved ones are let go: an alert still open stays on the banner however many came after it.
    for (const [id, a] of next) {
      if (next.size <= KEEP_ALERTS) break
      if (a.state === 'resolved') next.delete(id)
    }
    this.alerts = next
  }

  applyWindows(windows: readonly WindowAggregate[]): void {
    const next = new Map(this.windows)
    let newest = 0
    for (const w of next.values()) newest = Math.max(newest, Date.parse(w.minute))
    for (const w of windows) {
      next.set(`${w.brand}|${w.minute}`, w)
      newest = Math.max(newest, Date.parse(w.minute))
    }
    for (const [key, w] of next) if (Date.parse(w.minute) < newest - KEEP_MINUTES * MINUTE_MS) next.delete(key)
    this.windows = next
  }

  applyClock(clock: Pick<Clock, 'watermark'>): void {
    if (clock.watermark) this.watermark = Math.max(this.watermark, Date.parse(clock.watermark))
    this.heardAt = Date.now()
  }

  /** Posts in the order they came (newest last), into each of their brands' bounded buffers. */
  addPosts(posts: readonly ScoredPost[]): void {
    this.posts = prepend(this.posts, posts)
    this.middlePosts = prepend(this.middlePosts, posts.filter(isMiddle))
  }
}

function prepend(current: Map<string, ScoredPost[]>, posts: readonly ScoredPost[]): Map<string, ScoredPost[]> {
  if (posts.length === 0) return current
  const next = new Map(current)
  for (const post of posts)
    for (const brand of post.brands) next.set(brand, [post, ...(next.get(brand) ?? [])].slice(0, KEEP_POSTS))
  return next
}

function byBrand<T extends { brand: string }>(current: Map<string, T>, items: readonly T[]): Map<string, T> {
  const next = new Map(current)
  for (const item of items) next.set(item.brand, item)
  return next
}

/** Net sentiment of counts: over the posts read (scored), null when none was. */
export function netOf(c: Pick<MinutePoint, 'posts' | 'negative' | 'positive' | 'unscored'>): number | null {
  const scored = c.posts - c.unscored
  return scored > 0 ? (c.positive - c.negative) / scored : null
}

/** Sums of a series, for headline figures. */
export function totals(points: readonly MinutePoint[]) {
  return points.reduce(
    (t, p) => ({
      posts: t.posts + p.posts,
      negative: t.negative + p.negative,
      neutral: t.neutral + p.neutral,
      positive: t.positive + p.positive,
      unscored: t.unscored + p.unscored,
    }),
    { posts: 0, negative: 0, neutral: 0, positive: 0, unscored: 0 },
  )
}
