// The bus between ingest and the workers: one NATS JetStream stream of source events, and one
// durable pull consumer that every worker shares (JetStream hands each message to one of them, and
// redelivers it to another when it is not acknowledged in time: a worker that dies loses nothing).
//
// Subjects say what an event is, and where from: `undertow.events.post.<source>.<brand>`,
// `undertow.events.engagement.<source>` and `undertow.events.delete.<source>`. The stream is a work
// queue: an acknowledged message is removed, so the stream holds only the backlog.
import { AckPolicy, type Consumer, jetstream, type JetStreamClient, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream'
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node'
import type { SourceEvent } from '../schema.ts'

export const BUS_STREAM = 'UNDERTOW_EVENTS'
export const BUS_SUBJECTS = 'undertow.events.>'
export const BUS_CONSUMER = 'workers'
/** Deliveries of one message before JetStream gives up on it (a message that kills every worker must not loop forever). */
export const BUS_MAX_DELIVER = 20
/** Messages handed out and not yet acknowledged, over all workers: past it, JetStream waits. */
export const BUS_MAX_ACK_PENDING = 20_000
/** How long a duplicate publish (the same event id) is recognised and dropped by JetStream. */
const DUPLICATE_WINDOW_MS = 2 * 60_000

export interface BusOptions {
  /** `nats://host:4222`, or several, comma-separated. */
  url: string
  /** How long a message may go unacknowledged before JetStream redelivers it (a worker died). */
  ackWaitMs: number
  /** Connection name, shown by `nats-server` (monitoring) and in its logs. */
  name?: string
}

export interface Bus {
  nc: NatsConnection
  js: JetStreamClient
  /** Whether the connection is up now (NATS reconnects by itself when it drops). */
  connected(): boolean
  /** The workers' shared consumer. */
  consumer(): Promise<Consumer>
  /** Messages in the stream not yet acknowledged (the backlog), and those handed out, waiting for an acknowledgement. */
  backlog(): Promise<{ waiting: number; unacknowledged: number }>
  close(): Promise<void>
}

/** A subject token from free text: NATS separates tokens with dots and reserves `*`, `>` and spaces. */
export const subjectToken = (text: string) => text.replace(/[^\p{L}\p{N}_-]/gu, '_').slice(0, 64) || '_'

/** Where an event is published: its kind, its source and (a post) the first brand it is about. */
export function subjectOf(event: SourceEvent, source: string, brand?: string): string {
  const from = subjectToken(source)
  return event.kind === 'post' ? `undertow.events.post.${from}.${subjectToken(brand ?? '_')}` : `undertow.events.${event.kind}.${from}`
}

/** Connects, and makes the stream and the consumer if they are not there (every process may be first). */
export async function openBus(options: BusOptions): Promise<Bus> {
  const nc = await connect({ servers: options.url.split(',').map((s) => s.trim()), name: options.name ?? 'undertow', maxReconnectAttempts: -1 })
  try {
    const jsm = await jetstreamManager(nc)
    const stream = { name: BUS_STREAM, subjects: [BUS_SUBJECTS], retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window: nanos(DUPLICATE_WINDOW_MS) }
    try {
      await jsm.streams.info(BUS_STREAM)
    } catch {
      await jsm.streams.add(stream)
    }
    const consumer = { durable_name: BUS_CONSUMER, ack_policy: AckPolicy.Explicit, ack_wait: nanos(options.ackWaitMs), max_deliver: BUS_MAX_DELIVER, max_ack_pending: BUS_MAX_ACK_PENDING }
    try {
      await jsm.consumers.info(BUS_STREAM, BUS_CONSUMER)
      await jsm.consumers.update(BUS_STREAM, BUS_CONSUMER, { ack_wait: consumer.ack_wait, max_deliver: consumer.max_deliver, max_ack_pending: consumer.max_ack_pending })
    } catch {
      await jsm.consumers.add(BUS_STREAM, consumer).catch(async (error: unknown) => {
        // Another process made it between the two calls.
        await jsm.consumers.info(BUS_STREAM, BUS_CONSUMER).catch(() => {
          throw error
        })
      })
    }
    const js = jetstream(nc)
    let up = true
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') up = false
        else if (status.type === 'reconnect') up = true
      }
    })()
    return {
      nc,
      js,
      connected: () => up && !nc.isClosed(),
      consumer: () => js.consumers.get(BUS_STREAM, BUS_CONSUMER),
      async backlog() {
        const info = await jsm.consumers.info(BUS_STREAM, BUS_CONSUMER)
        return { waiting: info.num_pending + info.num_ack_pending, unacknowledged: info.num_ack_pending }
      },
      close: () => nc.drain().catch(() => nc.close()),
    }
  } catch (error) {
    await nc.close()
    throw new Error(`cannot prepare the bus's stream at ${options.url}: ${error instanceof Error ? error.message : String(error)}`)
  }
}
