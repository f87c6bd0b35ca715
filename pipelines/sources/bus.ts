// The bus source of a worker: the events ingest published, pulled from the workers' shared
// JetStream consumer, and handed to the pipeline one by one. Each message is acknowledged only
// once the pipeline is done with its event (bus/settlement.ts); until then JetStream keeps it for
// this worker, and hands it to another if this one dies. While the classifier is behind, no more
// is pulled: the backlog waits on the bus, whose stream is on disk, not in this process.
import type { Consumer, JsMsg } from '@nats-io/jetstream'
import { Observable } from 'rxjs'
import type { SourceEvent } from '../schema.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'
import type { Settlement } from '../bus/settlement.ts'

/** Messages the client keeps pulled ahead of the pipeline. */
export const BUS_PULL_BUFFER = 256
/** While the pipeline is behind, how often it is looked at again. */
const BEHIND_POLL_MS = 20

export interface BusSourceStats {
  received: number
  /** Of those, messages another worker had been given first (it died, or held them past the wait). */
  redelivered: number
  /** Messages that were not an event (not JSON, or of no known kind): dead-lettered, and not delivered again. */
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
}

const KINDS = new Set(['post', 'engagement', 'delete'])

function eventOf(message: JsMsg): SourceEvent | undefined {
  try {
    const event = message.json<SourceEvent>()
    return event !== null && typeof event === 'object' && KINDS.has(event.kind) ? event : undefined
  } catch {
    return undefined
  }
}

export function busSource(consumer: () => Promise<Consumer>, options: BusSourceOptions): Observable<SourceEvent> {
  const { settlement, deadLetter, stats } = options
  return new Observable<SourceEvent>((subscriber) => {
    let stopped = false
    let stopPulling = () => {}
    // Messages waiting in the pipeline longer than a third of the wait are kept alive, so a slow
    // batch is not handed to a second worker while this one still works on it.
    const keepAlive = setInterval(() => settlement.keepAlive(options.ackWaitMs / 3), options.ackWaitMs / 3)
    const pull = async () => {
      while (!stopped) {
        try {
          const messages = await (await consumer()).consume({ max_messages: BUS_PULL_BUFFER })
          stopPulling = () => messages.stop()
          if (stopped) messages.stop()
          for await (const message of messages) {
            if (stopped) break
            while (options.behind() && !stopped) await new Promise((r) => setTimeout(r, BEHIND_POLL_MS))
            if (stopped) break
            stats.received++
            if (message.redelivered) stats.redelivered++
            const event = eventOf(message)
            if (!event) {
              stats.malformed++
              deadLetter.record('bus', `message ${message.seq} on ${message.subject} is not an event: expected JSON with kind post, engagement or delete`, message.string())
              message.term()
              continue
            }
            settlement.admit(event, message, () => subscriber.next(event))
          }
        } catch {
          if (stopped) break
          stats.restarts++
          // The connection is lost or the consumer is gone for now: NATS reconnects; pull again.
          await new Promise((r) => setTimeout(r, 1_000))
        }
      }
    }
    pull().then(
      () => subscriber.complete(),
      (error: unknown) => subscriber.error(error),
    )
    return () => {
      stopped = true
      clearInterval(keepAlive)
      stopPulling()
    }
  })
}
