// The live process's source: the workers' records of what they made of each event, pulled from
// the settled stream and put back in the order the events arrived (bus/resequence.ts). A message
// of records is acknowledged once every record in it has been released (or dropped as a repeat).
import type { Consumer, JsMsg } from '@nats-io/jetstream'
import { pullFrom } from '../bus/pull.ts'
import { Observable } from 'rxjs'
import { readSettled } from '../bus/messages.ts'
import { type ResequenceCounts, Resequencer } from '../bus/resequence.ts'
import type { SettledRecord } from '../bus/settlement.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'

/** Places released with nothing stored, remembered for a record that says otherwise. */
const RELEASED_EMPTY_REMEMBERED = 100_000
/** Messages of records the client keeps pulled ahead (each holds up to a worker's flush of records). */
const SETTLED_PULL_BUFFER = 64
/** How often the order is looked at: its start, and records overdue. */
const TICK_MS = 100

export interface SettledSourceOptions {
  deadLetter: DeadLetter
  /** How long the first records are gathered before the lowest starts the order, unless `startAt` is known. */
  startMs: number
  /** The first place whose record is to come, and places after it whose records will not (bus/nats.ts, claimSettled). */
  startAt?: { startAt: number; passed: number[] }
  /** How long a missing record is waited for before its place is passed over. */
  gapMs: number
  /** JetStream's wait for acknowledgements: messages still waiting for their turn are kept alive before then. */
  ackWaitMs: number
  counts: ResequenceCounts & { malformed: number }
  /** Told, for each record released, how long it waited (from its publish, its turn included). */
  onWaited?: (ms: number) => void
}

export function settledSource(
  consumer: () => Promise<Consumer>,
  options: SettledSourceOptions,
): Observable<SettledRecord> {
  return new Observable<SettledRecord>((subscriber) => {
    /** Messages with records not yet released, and when each was last kept alive. */
    const open = new Map<JsMsg, number>()
    type Held = { record: SettledRecord; published: number; done: () => void }
    // Places released with a record that said nothing stored. A worker that found an event held
    // already (another one, given the message again, wrote it) may publish that first; the
    // record that says what was stored, coming after, is counted then.
    const releasedEmpty = new Set<number>()
    const counts = (r: SettledRecord) => r.post !== undefined || r.engagement !== undefined
    const order = new Resequencer<Held>(
      (held, seq) => {
        options.onWaited?.(Date.now() - held.published)
        if (!counts(held.record)) {
          releasedEmpty.add(seq)
          if (releasedEmpty.size > RELEASED_EMPTY_REMEMBERED) releasedEmpty.delete(releasedEmpty.values().next().value!)
        }
        subscriber.next(held.record)
        held.done()
      },
      (held, seq) => {
        if (counts(held.record) && releasedEmpty.delete(seq)) subscriber.next(held.record)
        held.done()
      },
      options,
    )
    if (options.startAt !== undefined) order.begin(options.startAt.startAt, options.startAt.passed)
    const tick = setInterval(() => {
      order.tick()
      const now = Date.now()
      for (const [message, since] of open)
        if (now - since > options.ackWaitMs / 3) {
          message.working()
          open.set(message, now)
        }
    }, TICK_MS)
    const pulling = pullFrom(consumer, {
      maxMessages: SETTLED_PULL_BUFFER,
      onMessage(message) {
        const read = readSettled(message.string())
        if (!read.ok) {
          options.counts.malformed++
          options.deadLetter.record('bus', `settled message ${message.seq}: ${read.reason}`, message.string())
          message.term()
          return
        }
        let remaining = read.value.length
        if (remaining === 0) {
          message.ack()
          return
        }
        open.set(message, Date.now())
        const done = () => {
          if (--remaining > 0) return
          open.delete(message)
          message.ack()
        }
        const published = message.time.getTime()
        for (const record of read.value) order.add(record.seq, { record, published, done })
      },
    })
    pulling.done.then(
      () => subscriber.complete(),
      (error: unknown) => subscriber.error(error),
    )
    return () => {
      clearInterval(tick)
      pulling.stop()
    }
  })
}
