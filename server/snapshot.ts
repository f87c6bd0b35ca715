// What a wall gets on connect: the stored windows of the last SNAPSHOT_MINUTES merged with the
// live ones, and the recent posts. Both count the same stored posts, so for each window the larger
// count is the more recent: the live one when a batch landed during the query, the stored one
// for a minute that began before this process started. The stored windows are read ahead of API
// reads (read-gate.ts WALL_READER): a wall that reconnects must not lose its history to a busy API.
import type { Snapshot, TrackedBrand, WindowAggregate } from '../pipelines/schema.ts'
import type { LiveView } from '../pipelines/sinks/live-memory.ts'
import { WALL_READER } from '../pipelines/store/read-gate.ts'
import type { Store } from '../pipelines/store/store.ts'

export const SNAPSHOT_MINUTES = 60

/**
 * While the store is unreachable (the sink spools meanwhile) a wall that connects still gets the
 * live windows: `onStoreError` hears why the stored ones are missing.
 */
export async function buildSnapshot(
  store: Store,
  view: LiveView,
  tracking: readonly TrackedBrand[],
  onStoreError?: (error: unknown) => void,
): Promise<Snapshot> {
  const merged = new Map<string, WindowAggregate>()
  const stored = await store
    .minuteAggregates({ lastMinutes: SNAPSHOT_MINUTES }, WALL_READER)
    .catch((error: unknown) => {
      onStoreError?.(error)
      return []
    })
  for (const w of stored) merged.set(`${w.brand}|${w.minute}`, w)
  const live = view.parts()
  for (const w of live.aggregates) {
    const key = `${w.brand}|${w.minute}`
    if (w.posts >= (merged.get(key)?.posts ?? 0)) merged.set(key, w)
  }
  const aggregates = [...merged.values()].sort(
    (a, b) => a.minute.localeCompare(b.minute) || a.brand.localeCompare(b.brand),
  )
  return {
    ...live,
    serverTime: new Date().toISOString(),
    watermark: view.watermark(),
    brands: [...tracking],
    aggregates,
  }
}
