// The bus source of a worker: the related events ingest published, pulled from the workers'
// shared JetStream consumer, and handed to the scoring and storing stage one by one. Each message is acknowledged only
// once the pipeline is done with its event (bus/settlement.ts); until then JetStream keeps it for
// this worker, and hands it to another if this one dies. While the classifier is behind, no more
// is pulled: the backlog waits on the bus, whose stream is on disk, not in this process.
import type { Consumer } from '@nats-io/jetstream'
import type { RelatedEvent } from '../contract.ts'
import { Observable } from 'rxjs'
import { readRelated } from '../bus/messages.ts'
import { pullFrom } from '../bus/pull.ts'
import type { Settlement } from '../bus/settlement.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'

/** Messages the client keeps pulled ahead of the pipeline. */
export const BUS_PULL_BUFFER = 256
/** While the pipeline is behind, how often it is looked at again. */
const BEHIND_POLL_MS = 20

export interface BusSourceStats {
  received: number
  /** Of those, messages another worker had been given first (it died, or held them past the wait). */
  redelivered: number
  /** Messages that were not a related event (not JSON, or not of its shape): dead-lettered, and not delivered again. */
  malformed: number
  /** Times pulling failed (the connection was lost) and started again. */
  restarts: number
}

export interface BusSourceOptions {
  settlement: Settlement
  deadLetter: DeadLetter
  /** True while the pipeline has enough to do: nothing more is pulled meanwhile. */
  behind: () => boolean
  /** How long JetStream waits for an acknowledgement: messages still being worked on are kept alive before then. */
  ackWaitMs: number
  stats: BusSourceStats
  /** Told, for each message, how long it waited on the bus (from its publish). */
  onWaited?: (ms: number) => void
}

export function busSource(consumer: () => Promise<Consumer>, options: BusSourceOptions): Observable<RelatedEvent> {
  const { settlement, deadLetter, stats } = options
  return new Observable<RelatedEvent>((subscriber) => {
    // Messages waiting in the pipeline longer than a third of the wait are kept alive, so a slow
    // batch is not handed to a second worker while this one still works on it.
    const keepAlive = setInterval(() => settlement.keepAlive(options.ackWaitMs / 3), options.ackWaitMs / 3)
    const pulling = pullFrom(consumer, {
      maxMessages: BUS_PULL_BUFFER,
      onRestart: () => stats.restarts++,
      async onMessage(message, stopped) {
        while (options.behind() && !stopped()) await new Promise((r) => setTimeout(r, BEHIND_POLL_MS))
        if (stopped()) return
        stats.received++
        options.onWaited?.(Date.now() - message.time.getTime())
        if (message.redelivered) stats.redelivered++
        const read = readRelated(message.string())
        if (!read.ok) {
          stats.malformed++
          deadLetter.record('bus', `message ${message.seq} on ${message.subject}: ${read.reason}`, message.string())
          // Its place in the stream is settled too (with nothing stored), or the live figures would wait for it.
          settlement.skip(message)
          return
        }
        const event = read.value
        settlement.admit(event, message, () => subscriber.next(event))
      },
    })
    pulling.done.then(
      () => subscriber.complete(),
      (error: unknown) => subscriber.error(error),
    )
    return () => {
      clearInterval(keepAlive)
      pulling.stop()
    }
  })
}
