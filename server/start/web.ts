// The HTTP server and the walls' socket.io, built from the configuration and listening: up before
// the pipeline starts (if the port is taken, nothing has been accepted yet), and after it stops.
import { WorkerClassifier } from '../../models/worker.ts'
import type { Classifier } from '../../models/classifier.ts'
import { redactUrl } from '../../pipelines/redact.ts'
import type { TrackedBrand } from '../../pipelines/schema.ts'
import type { DeadLetter } from '../../pipelines/sinks/deadletter.ts'
import type { Journal } from '../../pipelines/sinks/journal.ts'
import type { LiveView } from '../../pipelines/sinks/live-memory.ts'
import type { WebhookSource } from '../../pipelines/sources/webhook.ts'
import type { Store } from '../../pipelines/store/store.ts'
import { AccessTokens, parseAuthTokens } from '../access.ts'
import { buildServer } from '../app.ts'
import { type Config, listOf, type routingOf, trustProxyOf } from '../config.ts'
import { AllowedHosts } from '../hosts.ts'
import { loggerOptions } from '../logging.ts'
import type { Telemetry } from '../routes/observability.ts'
import { busyOf } from './backpressure.ts'
import type { RunHandle } from './handle.ts'
import type { Layout } from './layout.ts'

export interface WebParts {
  layout: Layout
  store: Store
  view: LiveView
  tracking: readonly TrackedBrand[]
  routing: ReturnType<typeof routingOf>
  classifier: Classifier | undefined
  webhook: WebhookSource | undefined
  intake: Journal | undefined
  deadLetter: DeadLetter
  telemetry: Telemetry
  handle: RunHandle
}

export async function startWeb(config: Config, parts: WebParts) {
  const { layout, classifier, webhook, handle } = parts
  const { bus, cluster } = layout
  const app = await buildServer({
    store: parts.store,
    view: parts.view,
    tracking: parts.tracking,
    routes: parts.routing.routes,
    health: {
      classifier: classifier?.name ?? 'none (not a worker)',
      classifierReady: () => !(classifier instanceof WorkerClassifier) || classifier.ready,
      sources: layout.reads ? listOf(config.SOURCES) : [],
      sourceGraceMs: config.SOURCE_DOWN_GRACE_S * 1000,
      stats: () => handle.stats(),
      running: () => handle.running,
      problems: () => [
        ...(bus && !bus.connected() ? [`the bus (${redactUrl(config.BUS_URL)}) is not connected`] : []),
        ...(cluster && !cluster.connected() ? [`Redis (${redactUrl(config.REDIS_URL)}) is not connected`] : []),
      ],
    },
    logger: loggerOptions(config.LOG_LEVEL),
    ...(webhook
      ? {
          ingest: {
            token: config.INGEST_TOKEN,
            source: webhook,
            deadLetter: parts.deadLetter,
            busy: busyOf(parts.intake, () => handle.unpublished()),
          },
        }
      : {}),
    telemetry: parts.telemetry,
    alerts: { acknowledge: (id) => handle.acknowledge(id) },
    corsOrigins: listOf(config.CORS_ORIGINS),
    access: new AccessTokens(parseAuthTokens(config.AUTH_TOKENS).tokens),
    trustProxy: trustProxyOf(config.TRUST_PROXY),
    allowedHosts: new AllowedHosts(config.ALLOWED_HOSTS, { listen: config.HOST }),
    rateLimits: { perMinute: config.RATE_LIMIT_PER_MINUTE, ingestPerMinute: config.INGEST_RATE_LIMIT_PER_MINUTE },
    web: layout.roles.has('web'),
    ...(cluster ? { socketAdapter: cluster.adapter } : {}),
  })
  const address = (await app.listen({ port: config.PORT, host: config.HOST })).replace('127.0.0.1', 'localhost')
  return { app, address }
}
