// Settlement: when a worker may acknowledge a bus message. A message is acknowledged only once
// the pipeline is done with its event: stored, dropped as a duplicate, untracked or ignored, or
// kept in the dead-letter record; and only after its record (what the store now holds of it) is
// published for the live figures. Until then the bus holds it, and redelivers it to another
// worker if this one dies. What the store cannot take now is handed back to the bus (`givenBack`).
//
// Events are followed by key (`eventKey`: the post's, update's or deleted post's id), which every
// stage keeps. The pipeline tells `taken` when an event enters a stage that finishes later (the
// classifier, a store's sink) and `settled` when it is done with; an event that was not taken
// while it was being admitted was dropped on the spot (untracked, malformed), and is settled then.
import type { ScoredPost, AttributedEngagement } from '../schema.ts'
import { eventKey, type Outcome, type Progress, type RelatedEvent } from '../contract.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'

/** The handle of one bus message: what the bus lets a worker do with it. */
export interface Delivery {
  /** The message's place in the events stream: the live figures take outcomes in this order. */
  seq: number
  /** Whether another worker was given it first (and may have stored it before it died). */
  redelivered: boolean
  ack(): void
  /** Tells the bus this message is still being worked on: its redelivery timer starts again. */
  working(): void
  /** Hands the message back, to be delivered again (to any worker) after `millis`. */
  nak(millis?: number): void
  info: { deliveryCount: number }
}

/** What became of one event, for the live figures: what the store holds of it, if anything. */
export interface SettledRecord {
  seq: number
  post?: ScoredPost
  /** A stored post that was deleted meanwhile: counted, not shown. */
  hidden?: true
  engagement?: AttributedEngagement
}

/** Records waiting to be published together, at most. */
const FLUSH_RECORDS = 500
/** Longest a record waits to be published with others. */
const FLUSH_MS = 20

/** The first pause before a message handed back comes again, doubling with each delivery, up to the most. */
const GIVE_BACK_MS = 1_000
const GIVE_BACK_MAX_MS = 60_000

/** Deliveries of an event the store does not take before it is dead-lettered: about 1.6 hours of pauses. */
export const GIVE_UP_DELIVERIES = 100

/** Longest a worker keeps a message alive: past it (a classifier that hangs), JetStream hands it to another. */
export const MAX_HOLD_MS = 10 * 60_000

/** One event's key: the messages that carry it, and how many of its copies are still in the pipeline. */
interface Pending {
  event: RelatedEvent
  deliveries: { delivery: Delivery; first: number; since: number }[]
  inFlight: number
  /** What the store holds of it: written now by this worker, or found held already. */
  stored?: Outcome
  writtenNow: boolean
}

export class Settlement implements Progress {
  private readonly pending = new Map<string, Pending>()
  /** Settled, waiting for their records to be published; acknowledged then. */
  private outbox: { deliveries: Delivery[]; record: SettledRecord }[] = []
  private flushing: Promise<void> = Promise.resolve()
  private timer: ReturnType<typeof setTimeout> | undefined
  private takenNow = false
  acknowledged = 0
  /** Messages handed back to the bus because the store could not take their events. */
  givenBackCount = 0
  /** Events dead-lettered after GIVE_UP_DELIVERIES deliveries the store did not take. */
  givenUp = 0
  /** Publishes that failed (tried again; the messages stay unacknowledged meanwhile). */
  publishFailures = 0

  /**
   * `publish`: hands the records of settled events on (to the live figures' stream), resolving once
   * they are safe; only then are their messages acknowledged.
   */
  constructor(
    private readonly publish: (records: SettledRecord[]) => Promise<void>,
    /** Where an event the store keeps refusing ends up, after GIVE_UP_DELIVERIES (without one, it is tried for ever). */
    private readonly deadLetter?: DeadLetter,
  ) {}

  /** Messages waiting for the pipeline, or for their records to be published. */
  get size(): number {
    let n = 0
    for (const o of this.outbox) n += o.deliveries.length
    for (const p of this.pending.values()) n += p.deliveries.length
    return n
  }

  /**
   * Follows the message while `emit` hands its event to the pipeline (synchronously, up to the
   * first stage that finishes later); settles it at once when nothing took it and no other copy
   * of its event is still on its way.
   */
  admit(event: RelatedEvent, delivery: Delivery, emit: () => void, now = Date.now()): void {
    const key = eventKey(event)
    let entry = this.pending.get(key)
    if (!entry) this.pending.set(key, (entry = { event, deliveries: [], inFlight: 0, writtenNow: false }))
    entry.deliveries.push({ delivery, first: now, since: now })
    this.takenNow = false
    emit()
    if (!this.takenNow && entry.inFlight === 0) this.finish(key, entry)
  }

  /** Settles a message whose event goes nowhere (it was refused): its record says nothing was stored. */
  skip(delivery: Delivery): void {
    this.outbox.push({ deliveries: [delivery], record: { seq: delivery.seq } })
    this.schedule()
  }

  taken(key: string): void {
    this.takenNow = true
    const entry = this.pending.get(key)
    if (entry) entry.inFlight++
  }

  /**
   * One copy of the event is done with. Its messages are settled once no copy is left in the
   * pipeline: a copy dropped as a duplicate of one still being written waits for that write.
   */
  settled(key: string, stored?: Outcome, held = false): void {
    const entry = this.pending.get(key)
    if (!entry) return
    entry.inFlight = Math.max(0, entry.inFlight - 1)
    if (stored && !held) {
      entry.stored = stored
      entry.writtenNow = true
    } else if (stored && !entry.stored) entry.stored = stored
    if (entry.inFlight === 0) this.finish(key, entry)
  }

  deliveries(key: string): number {
    return Math.max(1, ...(this.pending.get(key)?.deliveries.map((d) => d.delivery.info.deliveryCount) ?? []))
  }

  /**
   * The store could not take a copy of the event now. Once no copy is left in the pipeline, its
   * messages go back to the bus, to come again after a pause that grows with each delivery (a
   * store that is down for long is not hammered); no record goes out, so the live side waits for
   * the one the next delivery brings.
   */
  givenBack(key: string, reason = 'the store could not take it'): void {
    const entry = this.pending.get(key)
    if (!entry) return
    entry.inFlight = Math.max(0, entry.inFlight - 1)
    if (entry.inFlight > 0) return
    const deliveries = this.deliveries(key)
    if (this.deadLetter && deliveries >= GIVE_UP_DELIVERIES) {
      // Hours of tries: not an outage any more, but something about this event. It is kept in the
      // dead-letter record (to be sent again once mended) and settled, like any event refused.
      this.deadLetter.record('bus', `not stored after ${deliveries} deliveries: ${reason}`, entry.event)
      this.givenUp++
      this.finish(key, entry)
      return
    }
    this.pending.delete(key)
    for (const { delivery } of entry.deliveries)
      delivery.nak(Math.min(GIVE_BACK_MAX_MS, GIVE_BACK_MS * 2 ** Math.max(0, delivery.info.deliveryCount - 1)))
    this.givenBackCount += entry.deliveries.length
  }

  /**
   * One record per message (by its place in the stream; a message delivered twice is one). The
   * event counts live once: on its first place when this worker wrote it; when the store held it
   * already, on its first place that was delivered before (the worker that wrote it may have died
   * before its record went out; the live side keeps the first record of a place).
   */
  private finish(key: string, entry: Pending): void {
    this.pending.delete(key)
    const bySeq = new Map<number, Delivery[]>()
    for (const { delivery } of entry.deliveries) bySeq.set(delivery.seq, [...(bySeq.get(delivery.seq) ?? []), delivery])
    const places = [...bySeq.entries()].sort((a, b) => a[0] - b[0])
    const counted =
      entry.stored === undefined
        ? -1
        : entry.writtenNow
          ? 0
          : places.findIndex(([, ds]) => ds.some((d) => d.redelivered))
    places.forEach(([seq, deliveries], i) => {
      const stored = i === counted ? entry.stored : undefined
      const record: SettledRecord = {
        seq,
        ...(stored
          ? 'post' in stored
            ? { post: stored.post, ...(stored.shown ? {} : { hidden: true as const }) }
            : { engagement: stored.engagement }
          : {}),
      }
      this.outbox.push({ deliveries, record })
    })
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
            // another worker after its wait, and the live side keeps one record per place.
            await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)))
          }
        }
        // An event refused on the way is let go only once its dead-letter record is on disk.
        await this.deadLetter?.flush()?.catch(() => {})
        for (const { deliveries } of batch) for (const d of deliveries) d.ack()
        this.acknowledged += batch.reduce((n, b) => n + b.deliveries.length, 0)
      })
    return this.flushing
  }

  /**
   * Tells the bus the messages held longer than `olderThanMs` are still being worked on (not to be
   * redelivered yet), up to MAX_HOLD_MS each.
   */
  keepAlive(olderThanMs: number, now = Date.now()): number {
    let n = 0
    for (const entry of this.pending.values())
      for (const held of entry.deliveries)
        if (now - held.since >= olderThanMs && now - held.first < MAX_HOLD_MS) {
          held.delivery.working()
          held.since = now
          n++
        }
    return n
  }
}
