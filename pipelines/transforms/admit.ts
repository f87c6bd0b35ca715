// admit: the pipeline's intake, and its backpressure. Events go straight on while the classifier
// keeps up. When more than `high` posts queue in front of it, new events wait on disk instead (a
// Spool, in arrival order) and are let in again, oldest first, once the queue has fallen below
// `low`. So memory stays bounded whatever the sources send, and nothing is dropped: an event the
// disk will not take either is dead-lettered with why, and what waits on disk at a stop (or a
// crash) is let in first at the next start. The sources go on reading (a live stream that is not
// read is dropped by its server); the webhook refuses new requests while the disk is nearly full.
import { asyncScheduler, type MonoTypeOperatorFunction, Observable, type SchedulerLike } from 'rxjs'
import type { SourceEvent } from '../schema.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'
import type { Spool } from '../sinks/spool.ts'

/** Posts that may queue in front of the classifier before new events wait on disk (a few seconds of work). */
export const INTAKE_HIGH = 4_096
/** Waiting events are let in again below this. */
export const INTAKE_LOW = 1_024
/** Events per file on disk. */
export const INTAKE_CHUNK = 1_000
/** How often the queue is looked at, to let waiting events in (and write a partial chunk). */
export const INTAKE_TICK_MS = 50
/** Longest a partial chunk stays in memory while the classifier is behind. */
const PARTIAL_CHUNK_MS = 1_000
/** Files let in per look at most: a backlog of events that queue nowhere (untracked) cannot stall the loop. */
const FILES_PER_TICK = 8

export interface Intake {
  /** Where events wait; without one, nothing waits (SPOOL_MAX_BYTES=0): the queue is unbounded. */
  spill?: Spool<SourceEvent>
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
  const { spill, deadLetter, high = INTAKE_HIGH, low = INTAKE_LOW, scheduler = asyncScheduler } = intake
  return (events$) =>
    !spill
      ? events$
      : new Observable<SourceEvent>((subscriber) => {
          // The newest waiting events, not yet on disk (at most one file's worth).
          let chunk: SourceEvent[] = []
          let inputDone = false
          /** When the oldest event in `chunk` arrived. */
          let chunkSince = 0
          const waiting = () => spill.pending() + chunk.length
          const write = () => {
            if (chunk.length === 0) return
            const written = spill.append(chunk)
            if (!written.ok) for (const event of chunk) deadLetter.record('intake', `could not wait on disk for the classifier: ${written.reason}`, event)
            chunk = []
          }
          const release = () => {
            for (let files = 0; files < FILES_PER_TICK && intake.queued() < low; files++) {
              const [segment] = spill.oldest(1)
              if (!segment) {
                // Nothing on disk: the newest waiting events go on from memory.
                const last = chunk
                chunk = []
                for (const event of last) subscriber.next(event)
                break
              }
              spill.remove(segment.seq)
              for (const bad of segment.damaged) deadLetter.record('intake', `waiting file ${segment.seq}, line ${bad.line}: ${bad.reason}`, bad.text)
              for (const event of segment.items) subscriber.next(event)
            }
          }
          const finish = () => {
            write()
            tick.unsubscribe()
            subscriber.complete()
          }
          const tick = scheduler.schedule(function (this: { schedule(state?: undefined, delay?: number): void }) {
            // Stopping: nothing more is let in; what waits stays on disk for the next start.
            if (inputDone && intake.stopping()) return finish()
            if (waiting() > 0 && intake.queued() < low) release()
            // Behind: a partial chunk goes to disk too once it has waited a second, so little waits
            // in memory for long (and a slow trickle does not make a file every tick).
            else if (intake.queued() >= low && chunk.length > 0 && scheduler.now() - chunkSince >= PARTIAL_CHUNK_MS) write()
            if (inputDone && waiting() === 0) return finish()
            this.schedule(undefined, INTAKE_TICK_MS)
          }, INTAKE_TICK_MS)
          const input = events$.subscribe({
            next(event) {
              if (admitsNow(intake.queued(), waiting(), high)) return subscriber.next(event)
              if (chunk.length === 0) chunkSince = scheduler.now()
              chunk.push(event)
              if (chunk.length >= INTAKE_CHUNK) write()
            },
            error(error: unknown) {
              write()
              tick.unsubscribe()
              subscriber.error(error)
            },
            complete() {
              inputDone = true
              if (waiting() === 0 || intake.stopping()) finish()
            },
          })
          return () => {
            input.unsubscribe()
            tick.unsubscribe()
            // Torn down early: what waits in memory goes to disk, for the next start.
            write()
          }
        })
}
