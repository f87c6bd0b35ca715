// The bus, on NATS JetStream, in two streams:
// - UNDERTOW_EVENTS: the related events ingest publishes (stages/relate-events.ts), and one durable
//   pull consumer every worker shares: JetStream hands each message to one of them, and redelivers
//   it to another when it is not acknowledged in time, so a worker that dies loses nothing.
//   Subjects say what an event is, and where from: `undertow.events.post.<source>.<brand>`,
//   `undertow.events.engagement.<source>` and `undertow.events.delete.<source>`.
// - UNDERTOW_SETTLED: what the workers made of each event (its place in UNDERTOW_EVENTS, and what
//   the store now holds of it), read by the one live process, which puts them back in order.
// Both are work queues: an acknowledged message is removed, so they hold only the backlog.
import {
  AckPolicy,
  type Consumer,
  jetstream,
  type JetStreamClient,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream'
import type { RelatedEvent } from '../contract.ts'
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node'
import { redactUrl } from '../redact.ts'
import type { SettledRecord } from './settlement.ts'

export const BUS_STREAM = 'UNDERTOW_EVENTS'
export const BUS_SUBJECTS = 'undertow.events.>'
export const BUS_CONSUMER = 'workers'
export const SETTLED_STREAM = 'UNDERTOW_SETTLED'
export const SETTLED_SUBJECT = 'undertow.settled'
export const SETTLED_CONSUMER = 'live'
/** Largest message the settled records are published in (NATS refuses over 1 MiB by default). */
const SETTLED_MAX_BYTES = 512 * 1024
/**
 * Deliveries of one message: unbounded. A worker hands an event back while the store is down
 * (sinks/clickhouse.ts, giveBack), with a pause that grows to a minute, for as long as the outage
 * lasts; a bounded count would give events up during a long one.
 */
export const BUS_MAX_DELIVER = -1
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
  /**
   * The consumers this process reads from, made (or set to `ackWaitMs`) here: the workers' and the
   * live process's (default both). Others leave them as their readers set them.
   */
  consumers?: readonly ('workers' | 'live')[]
}

export interface Bus {
  nc: NatsConnection
  js: JetStreamClient
  /** Whether the connection is up now (NATS reconnects by itself when it drops). */
  connected(): boolean
  /** The workers' shared consumer. */
  consumer(): Promise<Consumer>
  /** The live process's consumer of the workers' records. */
  settledConsumer(): Promise<Consumer>
  /**
   * For the live process at its start: waits until no other process reads the records (one that
   * died leaves its pull requests until they expire), or fails; then drops the records waiting,
   * which the store holds already (the live figures are seeded from it next). Resolves to the
   * first place whose record is still to come (the oldest event not yet acknowledged), and the
   * places after it whose records are gone with the rest (events acknowledged already: workers
   * finish out of order).
   */
  claimSettled(waitMs?: number): Promise<{ startAt: number; passed: number[] }>
  /** Publishes the records of settled events (in as many messages as their size needs), resolving once JetStream has them all. */
  publishSettled(records: readonly SettledRecord[]): Promise<void>
  /** Messages in the stream not yet acknowledged (the backlog), and those handed out, waiting for an acknowledgement. */
  backlog(): Promise<{ waiting: number; unacknowledged: number }>
  close(): Promise<void>
}

/** A subject token from free text: NATS separates tokens with dots and reserves `*`, `>` and spaces. */
export const subjectToken = (text: string) => text.replace(/[^\p{L}\p{N}_-]/gu, '_').slice(0, 64) || '_'

/** Where an event is published: its kind, its source and (a post) the brand it is about. */
export function subjectOf(kind: RelatedEvent['kind'], source: string, brand?: string): string {
  const from = subjectToken(source)
  return kind === 'post'
    ? `undertow.events.post.${from}.${subjectToken(brand ?? '_')}`
    : `undertow.events.${kind}.${from}`
}

/** The records as JSON arrays of at most `maxBytes` each (one record alone may be larger). */
export function chunkRecords(records: readonly SettledRecord[], maxBytes = SETTLED_MAX_BYTES): string[] {
  const chunks: string[] = []
  let parts: string[] = []
  let bytes = 2
  for (const record of records) {
    const json = JSON.stringify(record)
    const size = Buffer.byteLength(json) + 1
    if (parts.length > 0 && bytes + size > maxBytes) {
      chunks.push(`[${parts.join(',')}]`)
      parts = []
      bytes = 2
    }
    parts.push(json)
    bytes += size
  }
  if (parts.length > 0) chunks.push(`[${parts.join(',')}]`)
  return chunks
}

/** Connects, and makes the stream and the consumer if they are not there (every process may be first). */
export async function openBus(options: BusOptions): Promise<Bus> {
  const nc = await connect({
    servers: options.url.split(',').map((s) => s.trim()),
    name: options.name ?? 'undertow',
    maxReconnectAttempts: -1,
  })
  try {
    const jsm = await jetstreamManager(nc)
    const streams = [
      {
        name: BUS_STREAM,
        subjects: [BUS_SUBJECTS],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      },
      {
        name: SETTLED_STREAM,
        subjects: [SETTLED_SUBJECT],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
      },
    ]
    for (const stream of streams) {
      try {
        await jsm.streams.info(stream.name)
      } catch {
        await jsm.streams.add(stream)
      }
    }
    const consumers = [
      {
        stream: BUS_STREAM,
        config: {
          durable_name: BUS_CONSUMER,
          ack_policy: AckPolicy.Explicit,
          ack_wait: nanos(options.ackWaitMs),
          max_deliver: BUS_MAX_DELIVER,
          max_ack_pending: BUS_MAX_ACK_PENDING,
        },
      },
      {
        stream: SETTLED_STREAM,
        config: {
          durable_name: SETTLED_CONSUMER,
          ack_policy: AckPolicy.Explicit,
          ack_wait: nanos(options.ackWaitMs),
          max_ack_pending: BUS_MAX_ACK_PENDING,
        },
      },
    ]
    for (const { stream, config } of consumers.filter((c) =>
      (options.consumers ?? ['workers', 'live']).includes(c.config.durable_name === BUS_CONSUMER ? 'workers' : 'live'),
    )) {
      try {
        await jsm.consumers.info(stream, config.durable_name)
        const { durable_name: _, ack_policy: __, ...changeable } = config
        await jsm.consumers.update(stream, config.durable_name, changeable)
      } catch {
        await jsm.consumers.add(stream, config).catch(async (error: unknown) => {
          // Another process made it between the two calls.
          await jsm.consumers.info(stream, config.durable_name).catch(() => {
            throw error
          })
        })
      }
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
      settledConsumer: () => js.consumers.get(SETTLED_STREAM, SETTLED_CONSUMER),
      async claimSettled(waitMs = 35_000) {
        const deadline = Date.now() + waitMs
        while ((await jsm.consumers.info(SETTLED_STREAM, SETTLED_CONSUMER)).num_waiting > 0) {
          if (Date.now() > deadline)
            throw new Error(`another live process reads ${SETTLED_STREAM} (run exactly one process with the live role)`)
          await new Promise((r) => setTimeout(r, 500))
        }
        await jsm.streams.purge(SETTLED_STREAM)
        const { state } = await jsm.streams.info(BUS_STREAM, { deleted_details: true })
        if (state.messages === 0) return { startAt: state.last_seq + 1, passed: [] }
        return { startAt: state.first_seq, passed: (state.deleted ?? []).filter((seq) => seq > state.first_seq) }
      },
      async publishSettled(records) {
        await Promise.all(chunkRecords(records).map((chunk) => js.publish(SETTLED_SUBJECT, chunk)))
      },
      async backlog() {
        const info = await jsm.consumers.info(BUS_STREAM, BUS_CONSUMER)
        return { waiting: info.num_pending + info.num_ack_pending, unacknowledged: info.num_ack_pending }
      },
      close: () => nc.drain().catch(() => nc.close()),
    }
  } catch (error) {
    await nc.close()
    throw new Error(
      redactUrl(
        `cannot prepare the bus's stream at ${options.url}: ${error instanceof Error ? error.message : String(error)}`,
      ),
    )
  }
}
