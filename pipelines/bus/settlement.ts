// Settlement: when a worker may acknowledge a bus message. A message is acknowledged only once
// the pipeline is done with its event: stored (or on the store's spool, on this worker's disk),
// dropped as a duplicate, untracked or ignored, or kept in the dead-letter record. Until then the
// bus holds it, and redelivers it to another worker if this one dies.
//
// Events are followed by key (`eventKey`: the post's, update's or deleted post's id), which every
// stage keeps. The pipeline tells `taken` when an event enters a stage that finishes later (the
// classifier, a store's sink) and `settled` when it is done with; an event that was not taken
// while it was being admitted was dropped on the spot (untracked, malformed), and is settled then.
import type { SourceEvent } from '../schema.ts'

/** What the pipeline tells of the events it follows (PipelineDeps.progress). */
export interface Progress {
  /** The event with this key goes on to a stage that finishes later. */
  taken(key: string): void
  /** The pipeline is done with the events with these keys. */
  settled(keys: readonly string[]): void
}

/** The handle of one bus message: what the bus lets a worker do with it. */
export interface Delivery {
  ack(): void
  /** Tells the bus this message is still being worked on: its redelivery timer starts again. */
  working(): void
}

/** The key an event is followed by through the pipeline, or undefined for one without an id (it is refused at once). */
export function eventKey(event: SourceEvent): string | undefined {
  const id = event.kind === 'post' ? (event.post as { id?: unknown } | undefined)?.id : event.kind === 'engagement' ? (event.update as { id?: unknown } | undefined)?.id : event.postId
  return typeof id === 'string' ? `${event.kind}:${id}` : undefined
}

export const postKey = (id: string) => `post:${id}`
export const engagementKey = (id: string) => `engagement:${id}`
export const deletionKey = (postId: string) => `delete:${postId}`

export class Settlement implements Progress {
  /** Messages not yet acknowledged, by their event's key, with when each was received. */
  private readonly pending = new Map<string, { delivery: Delivery; since: number }[]>()
  private takenNow = false
  acknowledged = 0

  /** Messages waiting for the pipeline. */
  get size(): number {
    let n = 0
    for (const list of this.pending.values()) n += list.length
    return n
  }

  /**
   * Follows the message while `emit` hands its event to the pipeline (synchronously, up to the
   * first stage that finishes later); acknowledges it at once when nothing took it.
   */
  admit(event: SourceEvent, delivery: Delivery, emit: () => void, now = Date.now()): void {
    const key = eventKey(event)
    if (key === undefined) {
      emit()
      delivery.ack()
      this.acknowledged++
      return
    }
    const list = this.pending.get(key)
    if (list) list.push({ delivery, since: now })
    else this.pending.set(key, [{ delivery, since: now }])
    this.takenNow = false
    emit()
    if (!this.takenNow) this.settled([key])
  }

  taken(_key: string): void {
    this.takenNow = true
  }

  settled(keys: readonly string[]): void {
    for (const key of keys) {
      const list = this.pending.get(key)
      if (!list) continue
      this.pending.delete(key)
      for (const { delivery } of list) delivery.ack()
      this.acknowledged += list.length
    }
  }

  /** Tells the bus the messages older than `olderThanMs` are still being worked on (not to be redelivered yet). */
  keepAlive(olderThanMs: number, now = Date.now()): number {
    let n = 0
    for (const list of this.pending.values())
      for (const entry of list)
        if (now - entry.since >= olderThanMs) {
          entry.delivery.working()
          entry.since = now
          n++
        }
    return n
  }
}
