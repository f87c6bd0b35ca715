// Settlement: when a worker may acknowledge a bus message. A message is acknowledged only once
// the pipeline is done with its event: stored (or on the store's spool, on this worker's disk),
// dropped as a duplicate, untracked or ignored, or kept in the dead-letter record. Until then the
// bus holds it, and redelivers it to another worker if this one dies.
//
// Events are followed by key (`eventKey`: the post's, update's or deleted post's id), which every
// stage keeps. The pipeline tells `taken` when an event enters a stage that finishes later (the
// classifier, a store's sink) and `settled` when it is done with; an event that was not taken
// while it was being admitted was dropped on the spot (untracked, malformed), and is settled then.
import type { ScoredPost } from '../schema.ts'
import type { RelatedEvent } from '../stages/relate-events.ts'
import type { AttributedEngagement } from '../store/store.ts'

/** What the store now holds of an event, which the live figures count. */
export type Outcome = { post: ScoredPost; shown: boolean } | { engagement: AttributedEngagement }

/** What the pipeline tells of the events it follows (PipelineDeps.progress). */
export interface Progress {
  /** The event with this key goes on to a stage that finishes later. */
  taken(key: string): void
  /**
   * The pipeline is done with the event with this key: `stored` is what the store now holds of it
   * (absent when it was dropped or dead-lettered); `held` says the store held it already (a duplicate).
   */
  settled(key: string, stored?: Outcome, held?: boolean): void
}

/** The handle of one bus message: what the bus lets a worker do with it. */
export interface Delivery {
  /** The message's place in the events stream: the live figures take outcomes in this order. */
  seq: number
  /** Whether another worker was given it first (and may have stored it before it died). */
  redelivered: boolean
  ack(): void
  /** Tells the bus this message is still being worked on: its redelivery timer starts again. */
  working(): void
}

/** What became of one event, for the live figures: what the store holds of it, if anything. */
export interface SettledRecord {
  seq: number
  post?: ScoredPost
  /** A stored post that was deleted meanwhile: counted, not shown. */
  hidden?: true
  engagement?: AttributedEngagement
}

/** The key an event is followed by through the pipeline. */
export function eventKey(event: RelatedEvent): string {
  return event.kind === 'post' ? postKey(event.post.id) : event.kind === 'engagement' ? engagementKey(event.update.id) : deletionKey(event.deletion.postId)
}

export const postKey = (id: string) => `post:${id}`
export const engagementKey = (id: string) => `engagement:${id}`
export const deletionKey = (postId: string) => `delete:${postId}`

/** Records waiting to be published together, at most. */
const FLUSH_RECORDS = 500
/** Longest a record waits to be published with others. */
const FLUSH_MS = 20

export class Settlement implements Progress {
  /** Messages not yet settled, by their event's key, with when each was received (or last kept alive). */
  private readonly pending = new Map<string, { delivery: Delivery; since: number }[]>()
  /** Settled, waiting for their records to be published; acknowledged then. */
  private outbox: { delivery: Delivery; record: SettledRecord }[] = []
  private flushing: Promise<void> = Promise.resolve()
  private timer: ReturnType<typeof setTimeout> | undefined
  private takenNow = false
  acknowledged = 0
  /** Publishes that failed (tried again; the messages stay unacknowledged meanwhile). */
  publishFailures = 0

  /**
   * `publish`: hands the records of settled events on (to the live figures' stream), resolving once
   * they are safe; only then are their messages acknowledged.
   */
  constructor(private readonly publish: (records: SettledRecord[]) => Promise<void>) {}

  /** Messages waiting for the pipeline, or for their records to be published. */
  get size(): number {
    let n = this.outbox.length
    for (const list of this.pending.values()) n += list.length
    return n
  }

  /**
   * Follows the message while `emit` hands its event to the pipeline (synchronously, up to the
   * first stage that finishes later); settles it at once when nothing took it.
   */
  admit(event: RelatedEvent, delivery: Delivery, emit: () => void, now = Date.now()): void {
    const key = eventKey(event)
    const list = this.pending.get(key)
    if (list) list.push({ delivery, since: now })
    else this.pending.set(key, [{ delivery, since: now }])
    this.takenNow = false
    emit()
    if (!this.takenNow) this.settled(key)
  }

  /** Settles a message whose event goes nowhere (it was refused): its record says nothing was stored. */
  skip(delivery: Delivery): void {
    this.outbox.push({ delivery, record: { seq: delivery.seq } })
    this.schedule()
  }

  taken(_key: string): void {
    this.takenNow = true
  }

  settled(key: string, stored?: Outcome, held = false): void {
    const list = this.pending.get(key)
    if (!list) return
    this.pending.delete(key)
    for (const { delivery } of list) {
      // A duplicate counts live only when it was redelivered: the worker that stored it first may
      // have died before its record went out (the live side keeps the first record of a seq).
      const counted = stored !== undefined && (!held || delivery.redelivered)
      const record: SettledRecord = { seq: delivery.seq, ...(counted ? ('post' in stored ? { post: stored.post, ...(stored.shown ? {} : { hidden: true as const }) } : { engagement: stored.engagement }) : {}) }
      this.outbox.push({ delivery, record })
    }
    this.schedule()
  }

  private schedule(): void {
    if (this.outbox.length >= FLUSH_RECORDS) void this.flush()
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS)
  }

  /** Publishes what is settled, then acknowledges it; resolves once everything settled so far is. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    const batch = this.outbox
    this.outbox = []
    if (batch.length > 0)
      this.flushing = this.flushing.then(async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            await this.publish(batch.map((b) => b.record))
            break
          } catch {
            this.publishFailures++
            // The messages stay unacknowledged: if this keeps failing, the bus hands them to
            // another worker after its wait, and the live side keeps one record per seq.
            await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)))
          }
        }
        for (const { delivery } of batch) delivery.ack()
        this.acknowledged += batch.length
      })
    return this.flushing
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
