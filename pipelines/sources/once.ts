// What a live source passes on once: a resumed stream (an overlap, a backfill beside a stream) can
// deliver an event again, and each source drops the repeats by the event's own key.
import type { SourceEvent } from '../schema.ts'
import type { RecentKeys } from '../sinks/recent-keys.ts'

/** An event's identity: the post's id, the engagement update's id, or the deleted post's. */
export const eventKey = (e: SourceEvent) => (e.kind === 'post' ? e.post.id : e.kind === 'engagement' ? e.update.id : `delete:${e.postId}`)

/** Passes on each event not passed lately (counting the repeats), and calls `passed` with its key. */
export function passOnce(events: readonly SourceEvent[], seen: RecentKeys, next: (e: SourceEvent) => void, stats: { events: number; duplicates: number }, passed?: (key: string) => void): void {
  for (const e of events) {
    const key = eventKey(e)
    if (seen.has(key)) {
      stats.duplicates++
      continue
    }
    seen.add(key)
    passed?.(key)
    stats.events++
    next(e)
  }
}
