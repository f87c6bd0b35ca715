// aggregate: per-brand tumbling windows of one event-time minute (count and sentiment mix). The
// state keeps the last RETAIN_MINUTES behind the newest minute seen; a post older than that is
// late: it is still stored (ClickHouse's own aggregate counts it) but not pushed live, because a
// fresh window for it would show a wrong, partial count. Every FLUSH_MS the windows that changed
// are emitted with their full current values, so a client can apply them in any order.
import { minuteOfIso } from '../time.ts'
import { asyncScheduler, bufferTime, filter, map, type OperatorFunction, type SchedulerLike } from 'rxjs'
import type { ScoredPost, WindowAggregate } from '../schema.ts'

export const AGGREGATE_FLUSH_MS = 250
export const RETAIN_MINUTES = 120

export interface WindowState {
  windows: Map<string, WindowAggregate>
  /** Start (epoch ms) of the newest minute seen. */
  newest: number
  late: number
}

export const emptyState = (): WindowState => ({ windows: new Map(), newest: 0, late: 0 })

/** State that continues from windows already counted (the store's, at start). */
export function stateFrom(windows: readonly WindowAggregate[]): WindowState {
  const state = emptyState()
  for (const w of windows) {
    const minute = Date.parse(w.minute)
    state.windows.set(`${w.brand}|${minute}`, { ...w })
    state.newest = Math.max(state.newest, minute)
  }
  return state
}

/** Adds one post to its windows; returns the keys of the windows it changed. */
export function aggregateOne(state: WindowState, post: ScoredPost): string[] {
  const minute = minuteOfIso(post.createdAt)
  if (minute < state.newest - RETAIN_MINUTES * 60_000) {
    state.late++
    return []
  }
  if (minute > state.newest) {
    state.newest = minute
    for (const [key, w] of state.windows)
      if (Date.parse(w.minute) < minute - RETAIN_MINUTES * 60_000) state.windows.delete(key)
  }
  const s = post.sentiment
  return post.brands.map((brand) => {
    const key = `${brand}|${minute}`
    let w = state.windows.get(key)
    if (!w) {
      w = {
        brand,
        minute: new Date(minute).toISOString(),
        posts: 0,
        negative: 0,
        neutral: 0,
        positive: 0,
        mixed: 0,
        uncertain: 0,
        unscored: 0,
      }
      state.windows.set(key, w)
    }
    w.posts++
    if (!s) w.unscored++
    else {
      w[s.label]++
      if (s.mixed) w.mixed++
      if (s.uncertain) w.uncertain++
    }
    return key
  })
}

export function aggregate(
  state: WindowState = emptyState(),
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<ScoredPost, WindowAggregate[]> {
  return (posts$) =>
    posts$.pipe(
      bufferTime(AGGREGATE_FLUSH_MS, null, Number.POSITIVE_INFINITY, scheduler),
      map((batch) => {
        const changed = new Set(batch.flatMap((post) => aggregateOne(state, post)))
        return [...changed].flatMap((key) => {
          const w = state.windows.get(key)
          return w ? [{ ...w }] : []
        })
      }),
      filter((windows) => windows.length > 0),
    )
}
