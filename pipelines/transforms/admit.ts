// admit: the pipeline's intake, and its backpressure. With an intake journal (sinks/journal.ts),
// every event the sources send is appended to it first, and the pipeline reads the journal in
// order: while the classifier keeps up (fewer than `high` posts queue in front of it) each event
// goes straight on as it is appended; past that, events wait on disk only, and are read back,
// oldest first, once the queue has fallen below `low`. So memory stays bounded whatever the sources
// send. What the last run left in the journal is read first, before anything new. Each event the
// pipeline is handed is followed (IntakeSettlement) until it is stored, spooled, dropped or
// dead-lettered; only then may its segment go; one the store or the classifier cannot take now is
// given back and goes on again later. An event the journal will not take (its disk is full) is
// dead-lettered with why; the webhook refuses new requests before that (503), and live sources
// pause and read again from their cursors (sources/journaled-cursor.ts).
import { asyncScheduler, type MonoTypeOperatorFunction, Observable, type SchedulerLike } from 'rxjs'
import type { Outcome, Progress } from '../contract.ts'
import type { SourceEvent } from '../schema.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'
import type { Journal, Segment } from '../sinks/journal.ts'

/** Posts that may queue in front of the classifier before new events wait on disk (a few seconds of work). */
export const INTAKE_HIGH = 4_096
/** Waiting events are let in again below this. */
export const INTAKE_LOW = 1_024
/** Events read back from disk at a time. */
export const INTAKE_CHUNK = 1_000
/** How often the queue is looked at, to let waiting events in. */
export const INTAKE_TICK_MS = 50
/** Chunks let in per look at most: a backlog of events that queue nowhere (untracked) cannot stall the loop. */
const CHUNKS_PER_TICK = 8

export interface Intake {
  /** The journal; without one (SPOOL_MAX_BYTES=0) nothing is on disk and the queue is unbounded. */
  journal?: Journal
  /** Follows what the pipeline does with each event it is handed (given to storeEvents as its progress). */
  settlement?: IntakeSettlement
  /** Posts queued in front of the classifier now. */
  queued: () => number
  /** True once the pipeline is stopping: what waits stays on disk for the next start. */
  stopping: () => boolean
  deadLetter: DeadLetter
  high?: number
  low?: number
  scheduler?: SchedulerLike
}

/** Whether an event goes straight on: nothing is waiting before it, and the queue has room. */
export const admitsNow = (queued: number, waiting: number, high: number) => waiting === 0 && queued < high

export function admit(intake: Intake): MonoTypeOperatorFunction<SourceEvent> {
  const { journal, deadLetter, high = INTAKE_HIGH, low = INTAKE_LOW, scheduler = asyncScheduler } = intake
  const settlement = intake.settlement ?? (journal ? new IntakeSettlement(journal) : undefined)
  return (events$) =>
    !journal || !settlement
      ? events$
      : new Observable<SourceEvent>((subscriber) => {
          let inputDone = false
          let finished = false
          const finish = () => {
            if (finished) return
            finished = true
            journal.reader = undefined
            journal.onWritten = undefined
            tick.unsubscribe()
            subscriber.complete()
          }
          const release = () => {
            for (
              let chunks = 0;
              chunks < CHUNKS_PER_TICK && intake.queued() < low && !finished && !settlement.holding();
              chunks++
            ) {
              const read = journal.read(INTAKE_CHUNK)
              if (read.length === 0) break
              for (const { event, segment } of read) settlement.follow(event, segment, () => subscriber.next(event))
            }
          }
          const check = () => {
            // Stopping: nothing more is let in; what waits stays on disk for the next start.
            if (inputDone && intake.stopping()) return finish()
            journal.tick()
            // Given back (a temporary failure): they go first, once their backoff has passed.
            settlement.retryDue((event) => subscriber.next(event))
            if (intake.queued() < low) release()
            if (inputDone && journal.caughtUp() && !settlement.holding()) finish()
          }
          journal.onLost = (reason, payload) => deadLetter.record('intake', reason, payload)
          journal.beforeDelete = () => deadLetter.flush()
          // Caught up, an appended event goes straight on while the classifier has room.
          journal.reader = (event, segment) => {
            if (finished || intake.stopping() || settlement.holding() || !admitsNow(intake.queued(), 0, high))
              return false
            settlement.follow(event, segment, () => subscriber.next(event))
            return true
          }
          journal.onWritten = () => {
            if (!finished && !journal.caughtUp() && intake.queued() < low) release()
          }
          const tick = scheduler.schedule(function (this: { schedule(state?: undefined, delay?: number): void }) {
            check()
            if (!finished) this.schedule(undefined, INTAKE_TICK_MS)
          }, INTAKE_TICK_MS)
          // What the last run left goes first, before any new event.
          release()
          const input = events$.subscribe({
            next(event) {
              const appended = journal.append([event])
              if (!appended.ok) deadLetter.record('intake', `could not be kept on disk: ${appended.reason}`, event)
            },
            error(error: unknown) {
              finished = true
              journal.reader = undefined
              tick.unsubscribe()
              subscriber.error(error)
            },
            complete() {
              inputDone = true
              if (intake.stopping() || (journal.caughtUp() && !settlement.holding())) finish()
            },
          })
          return () => {
            input.unsubscribe()
            tick.unsubscribe()
            if (journal.reader) journal.reader = undefined
          }
        })
}

/** Events the store or the classifier could not take now wait this long before they go on again, doubled while it keeps on. */
export const RETRY_BACKOFF = { initialMs: 1_000, maxMs: 30_000 }

/**
 * Times one event may be given back before it is dead-lettered, as a bus worker gives up after 100
 * deliveries: about 48 minutes of backoff, past an outage of the store with its spool full, while
 * a post that stops the classifier's thread each time it is scored would otherwise stop it (and
 * every batch beside it) for ever.
 */
export const GIVE_BACK_LIMIT = 100

/** An event handed on, with the journal segments it holds (a post sent twice: both copies' segments). */
interface Copy {
  event: SourceEvent
  segments: Segment[]
  /** Times it was given back before. */
  tries?: number
}

/**
 * The journal's end-to-end acknowledgements: the pipeline's Progress (bus/settlement.ts) for the
 * events it was handed from the journal. An event is followed by its key from the moment it is
 * handed on; one that no later stage takes (untracked, refused by normalise, a deletion of nothing
 * held) is settled at once; the others once the store stage says so. Copies of one key (a post
 * sent twice) settle together when the last is done with, or all at once when one is stored (the
 * others are duplicates of it). An event given back (the store is down and the spool full, the
 * classifier's thread stopped) is not settled: it stays in the journal and goes on again after a
 * backoff, and nothing new is let in meanwhile.
 */
export class IntakeSettlement implements Progress {
  private readonly pending = new Map<string, { inFlight: number; copies: Copy[]; kept: boolean; stored: boolean }>()
  private handing: Copy | undefined
  private takenNow = false
  private retries: Copy[] = []
  private retryAt = 0
  private backoff = RETRY_BACKOFF.initialMs
  /** Events given back so far (each went on again later, or stays in the journal for the next start). */
  givenBackCount = 0
  /** Told of an event given back GIVE_BACK_LIMIT times: it is dead-lettered there, and its segments go. */
  giveUp: (event: SourceEvent, tries: number) => void = () => {}

  constructor(
    private readonly journal: Journal,
    private readonly now: () => number = Date.now,
  ) {}

  /** Hands `event` on with `emit` (synchronously, up to the first stage that finishes later). */
  follow(event: SourceEvent, segment: Segment, emit: () => void): void {
    this.hand({ event, segments: [segment] }, emit)
  }

  /** Whether given-back events wait for their retry: nothing new is let in meanwhile. */
  holding(): boolean {
    return this.retries.length > 0
  }

  /** Hands the given-back events on again once their backoff has passed. */
  retryDue(emit: (event: SourceEvent) => void): void {
    if (this.retries.length === 0 || this.now() < this.retryAt) return
    const due = this.retries
    this.retries = []
    for (const copy of due) this.hand(copy, () => emit(copy.event))
  }

  taken(key: string): void {
    const copy = this.handing
    if (!copy) return
    this.takenNow = true
    let entry = this.pending.get(key)
    if (!entry) this.pending.set(key, (entry = { inFlight: 0, copies: [], kept: false, stored: false }))
    entry.inFlight++
    // The store holds this key already: this copy is a duplicate, and its segment may go now.
    if (entry.stored) this.release(copy)
    else entry.copies.push(copy)
  }

  settled(key: string, stored?: Outcome, held?: boolean): void {
    const entry = this.pending.get(key)
    if (!entry) return
    if (stored && !held) {
      // Stored: every copy taken so far is a duplicate of it, however long they keep coming.
      entry.stored = true
      this.backoff = RETRY_BACKOFF.initialMs
      for (const copy of entry.copies) this.release(copy)
      entry.copies = []
    }
    this.done(key)
  }

  givenBack(key: string): void {
    this.givenBackCount++
    const entry = this.pending.get(key)
    if (!entry) return
    entry.kept = true
    if (this.retries.length === 0 && this.now() >= this.retryAt) {
      this.retryAt = this.now() + this.backoff
      this.backoff = Math.min(RETRY_BACKOFF.maxMs, this.backoff * 2)
    }
    this.done(key)
  }

  /** Events come from the journal once in a run: a reply never waits for its mention here (bus/settlement.ts does). */
  deliveries(): number {
    return Number.POSITIVE_INFINITY
  }

  /** Events handed on and not settled yet. */
  get size(): number {
    return this.pending.size
  }

  private hand(copy: Copy, emit: () => void): void {
    this.handing = copy
    this.takenNow = false
    try {
      emit()
    } finally {
      this.handing = undefined
    }
    if (!this.takenNow) this.release(copy)
  }

  private release(copy: Copy): void {
    for (const segment of copy.segments) this.journal.settle(segment)
  }

  private done(key: string): void {
    const entry = this.pending.get(key)!
    if (--entry.inFlight > 0) return
    this.pending.delete(key)
    if (!entry.kept) for (const copy of entry.copies) this.release(copy)
    // Kept: its segments stay, and one copy goes on again later carrying them all.
    else if (entry.copies.length > 0) {
      const tries = Math.max(...entry.copies.map((c) => c.tries ?? 0)) + 1
      const copy = { event: entry.copies[0]!.event, segments: entry.copies.flatMap((c) => c.segments), tries }
      if (tries < GIVE_BACK_LIMIT) return void this.retries.push(copy)
      this.giveUp(copy.event, tries)
      this.release(copy)
    }
  }
}
