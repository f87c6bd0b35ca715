// Retention: day partitions older than RETENTION_DAYS are dropped at start and then every hour.
// Dropping whole partitions is instant and works on every ClickHouse version Undertow supports
// (TTL does not: the Debian server is too old for it).
import type { DroppedPartition, Store } from './store.ts'

export const RETENTION_EVERY_MS = 60 * 60 * 1000

export function cutoffFor(days: number, now = Date.now()): Date {
  return new Date(now - days * 24 * 60 * 60 * 1000)
}

/** Starts the schedule; returns a function that stops it. `days` 0 keeps everything. */
export function scheduleRetention(
  store: Store,
  days: number,
  onDropped: (dropped: DroppedPartition[]) => void,
  onError: (error: unknown) => void,
): () => void {
  if (days <= 0) return () => {}
  const run = () =>
    store.dropPartitionsBefore(cutoffFor(days)).then((dropped) => {
      if (dropped.length > 0) onDropped(dropped)
    }, onError)
  void run()
  const timer = setInterval(run, RETENTION_EVERY_MS)
  timer.unref()
  return () => clearInterval(timer)
}
