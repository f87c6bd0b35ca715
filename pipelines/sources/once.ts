// What a live source passes on once: a resumed stream (an overlap, a backfill beside a stream) can
// deliver an event again, and each source drops the repeats by the event's own key.
import type { SourceEvent } from '../schema.ts'
import type { RecentKeys } from '../sinks/recent-keys.ts'

/** An event's identity: the post's id, the engagement update's id, or the deleted post's. */
export const eventKey = (e: SourceEvent) =>
  e.kind === 'post' ? e.post.id : e.kind === 'engagement' ? e.update.id : `delete:${e.postId}`

/** Passes on each event not passed lately (counting the repeats), and calls `passed` with its key. */
export function passOnce(
  events: readonly SourceEvent[],
  seen: RecentKeys,
  next: (e: SourceEvent) => void,
  stats: { events: number; duplicates: number },
  passed?: (key: string) => void,
): void {
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

/**
 * The keys passed on lately, each with its place in the stream (a time, an id), oldest first: what
 * a resume reads again, kept at a clean stop so it is not passed on twice. A queue with a moving
 * head, so that trimming the oldest costs nothing per event at firehose rates (Array.shift would
 * copy the whole window each time).
 */
export class OverlapKeys<P> {
  private items: [key: string, at: P][] = []
  private head = 0

  constructor(
    saved: readonly [string, P][] = [],
    private readonly max = 100_000,
  ) {
    for (const [key, at] of saved) this.add(key, at)
  }

  add(key: string, at: P): void {
    this.items.push([key, at])
    if (this.size > this.max) this.head++
    this.compact()
  }

  /** Forgets the oldest keys while `old` says so of their place. */
  dropWhile(old: (at: P) => boolean): void {
    while (this.head < this.items.length && old(this.items[this.head]![1])) this.head++
    this.compact()
  }

  get size(): number {
    return this.items.length - this.head
  }

  entries(): [string, P][] {
    return this.items.slice(this.head)
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}
