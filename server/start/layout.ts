// Which parts of Undertow this process runs, and the connections they need: the bus (NATS
// JetStream) for ingest, workers and live; Redis between the live process and the web processes.
import { type Bus, openBus } from '../../pipelines/bus/nats.ts'
import { redactUrl } from '../../pipelines/redact.ts'
import { redisAdapter } from '../cluster.ts'
import { type Config, type ProcessRole, rolesOf } from '../config.ts'

export interface Layout {
  roles: ReadonlySet<ProcessRole>
  /** Several processes around a bus (BUS_URL); else this one runs everything, as one pipeline. */
  scaled: boolean
  /** Whether this process reads the sources, and whether it scores and stores. */
  reads: boolean
  works: boolean
  bus?: Bus
  cluster?: Awaited<ReturnType<typeof redisAdapter>>
}

/**
 * With a bus, each process does what ROLES says (pipelines/bus/roles.ts): `ingest` reads the
 * sources, `worker` classifies and stores, `live` computes the live figures, `web` serves the API
 * and the wall. Without one, this process does it all.
 */
export async function openLayout(config: Config): Promise<Layout> {
  const roles = rolesOf(config)
  const scaled = config.BUS_URL !== ''
  // A web process alone needs no bus: what it shows comes through Redis, and from the store.
  const usesBus = scaled && (roles.has('ingest') || roles.has('worker') || roles.has('live'))
  const bus = usesBus
    ? await openBus({
        url: config.BUS_URL,
        ackWaitMs: config.BUS_ACK_WAIT_S * 1000,
        name: `undertow ${[...roles].join('+')} ${process.pid}`,
        consumers: [
          ...(roles.has('worker') ? (['workers'] as const) : []),
          ...(roles.has('live') ? (['live'] as const) : []),
        ],
      })
    : undefined
  // The live process and the web processes meet in Redis (socket.io's adapter); the others need not.
  const cluster =
    scaled && config.REDIS_URL && (roles.has('web') || roles.has('live'))
      ? await redisAdapter(config.REDIS_URL, (error) => console.error(`undertow: Redis: ${redactUrl(error.message)}`))
      : undefined
  return {
    roles,
    scaled,
    reads: !scaled || roles.has('ingest'),
    works: !scaled || roles.has('worker'),
    ...(bus ? { bus } : {}),
    ...(cluster ? { cluster } : {}),
  }
}
