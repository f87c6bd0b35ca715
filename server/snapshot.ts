// What a wall gets on connect: stored history of the last SNAPSHOT_MINUTES, overlaid with the live
// windows (fresher than the store, which lags by a write batch), and the recent posts.
import type { Snapshot, TrackedBrand, WindowAggregate } from '../pipelines/schema.ts'
import type { LiveView } from '../pipelines/sinks/socketio.ts'
import type { Store } from '../pipelines/store/store.ts'

export const SNAPSHOT_MINUTES = 60

export async function buildSnapshot(store: Store, view: LiveView, tracking: readonly TrackedBrand[]): Promise<Snapshot> {
  const merged = new Map<string, WindowAggregate>()
  for (const w of await store.minuteAggregates({ lastMinutes: SNAPSHOT_MINUTES })) merged.set(`${w.brand}|${w.minute}`, w)
  for (const w of view.recentWindows()) merged.set(`${w.brand}|${w.minute}`, w)
  const aggregates = [...merged.values()].sort((a, b) => a.minute.localeCompare(b.minute) || a.brand.localeCompare(b.brand))
  return { serverTime: new Date().toISOString(), brands: [...tracking], aggregates, recentPosts: view.recentPosts() }
}
