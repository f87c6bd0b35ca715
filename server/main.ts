// The process: read and validate configuration, open the store, start the server and then the
// pipeline (or this process's roles around the bus), and on SIGINT/SIGTERM stop the sources, flush
// everything to the store, then exit. Each start-up step is a small module under server/start/.
import { resolve } from 'node:path'
import { loadClassifier } from '../models/load.ts'
import { WorkerClassifier } from '../models/worker.ts'
import { WARMUP_MINUTES } from '../pipelines/metrics/risk.ts'
import { redactUrl } from '../pipelines/redact.ts'
import type { Alert } from '../pipelines/schema.ts'
import { DeadLetterFile } from '../pipelines/sinks/deadletter.ts'
import { LiveView } from '../pipelines/sinks/live-memory.ts'
import { WebhookSource } from '../pipelines/sources/webhook.ts'
import { scheduleRetention } from '../pipelines/store/retention.ts'
import { AccessTokens, parseAuthTokens } from './access.ts'
import { buildServer } from './app.ts'
import { listOf, loadConfig, routingOf, trustProxyOf } from './config.ts'
import { UnavailableError } from './errors.ts'
import { AllowedHosts } from './hosts.ts'
import { loggerOptions } from './logging.ts'
import { Telemetry } from './routes/observability.ts'
import { runPipeline, runRoles, type Running } from './run.ts'
import { buildSources } from './sources.ts'
import { busyOf } from './start/backpressure.ts'
import { openLayout } from './start/layout.ts'
import { openAlertsOf } from './start/open-alerts.ts'
import { liveOutputs, webhooksOf } from './start/outputs.ts'
import { gracefulStop, SHUTDOWN_TIMEOUT_MS, stopOnSignals } from './start/shutdown.ts'
import { describeStore, openIntake, openSpools, prepareStore } from './storage.ts'
import { loadTracking } from './tracking.ts'

/** Simulated seconds of the day replayed before now on a fresh store: the risk warm-up, and five minutes. */
const SIMULATOR_PREROLL_S = (WARMUP_MINUTES + 5) * 60

async function main(): Promise<void> {
  const config = loadConfig(process.env)
  const tracking = loadTracking(config)
  const layout = await openLayout(config)
  const { roles, scaled, reads, works, bus, cluster } = layout
  const store = await prepareStore(config)
  // Batches that a crash or an outage left on disk drain first, before anything new is written.
  const spools = openSpools(config)
  // The intake journal: every event on disk before it is acknowledged, until it is stored; what the
  // last run left is read first. With a bus, events wait on the bus instead.
  const intake = scaled ? undefined : openIntake(config)
  const deadLetter = new DeadLetterFile(resolve(config.DATA_DIR, 'dead-letter.ndjson'))
  const classifier = works
    ? await loadClassifier(config.SENTIMENT_MODEL, {
        thread: true,
        threads: config.SENTIMENT_THREADS,
        languages: config.SCORED_LANGUAGES,
      })
    : undefined
  const view = new LiveView()
  // Simulated time runs ahead of the clock (SIM_SPEED); a restarted simulator resumes after the
  // newest stored post instead of writing a second story into minutes already told.
  const latest = await store.latestPostTime()
  const simulatorStart = new Date(Math.max(Date.now(), latest ? Date.parse(latest) + 60_000 : 0)).toISOString()
  const webhook = reads && listOf(config.SOURCES).includes('webhook') ? new WebhookSource(intake) : undefined
  const routing = routingOf(config)
  const webhooks = webhooksOf(config, routing, deadLetter)
  let stats = (): object => ({})
  let running: Running | undefined
  const telemetry = new Telemetry()
  const unpublished = () =>
    Number((running?.stats() as { queues?: { busUnpublished?: number } } | undefined)?.queues?.busUnpublished ?? 0)
  // The server is up before the pipeline, and stays up after it: alerts are acknowledged only
  // while a pipeline runs to push and store the change.
  let acknowledge = (_id: string): Alert | null | Promise<Alert | null> => {
    throw new UnavailableError('the pipeline is not running yet: try again in a moment')
  }
  const app = await buildServer({
    store,
    view,
    tracking,
    routes: routing.routes,
    health: {
      classifier: classifier?.name ?? 'none (not a worker)',
      classifierReady: () => !(classifier instanceof WorkerClassifier) || classifier.ready,
      sources: reads ? listOf(config.SOURCES) : [],
      sourceGraceMs: config.SOURCE_DOWN_GRACE_S * 1000,
      stats: () => stats(),
      running: () => running !== undefined,
      problems: () => [
        ...(bus && !bus.connected() ? [`the bus (${redactUrl(config.BUS_URL)}) is not connected`] : []),
        ...(cluster && !cluster.connected() ? [`Redis (${redactUrl(config.REDIS_URL)}) is not connected`] : []),
      ],
    },
    logger: loggerOptions(config.LOG_LEVEL),
    ...(webhook
      ? { ingest: { token: config.INGEST_TOKEN, source: webhook, deadLetter, busy: busyOf(intake, unpublished) } }
      : {}),
    telemetry,
    alerts: { acknowledge: (id) => acknowledge(id) },
    corsOrigins: listOf(config.CORS_ORIGINS),
    access: new AccessTokens(parseAuthTokens(config.AUTH_TOKENS).tokens),
    trustProxy: trustProxyOf(config.TRUST_PROXY),
    allowedHosts: new AllowedHosts(config.ALLOWED_HOSTS, { listen: config.HOST }),
    rateLimits: { perMinute: config.RATE_LIMIT_PER_MINUTE, ingestPerMinute: config.INGEST_RATE_LIMIT_PER_MINUTE },
    web: roles.has('web'),
    ...(cluster ? { socketAdapter: cluster.adapter } : {}),
  })
  // Listen before reading any source: if the port is taken, nothing has been accepted yet.
  const address = (await app.listen({ port: config.PORT, host: config.HOST })).replace('127.0.0.1', 'localhost')
  const openAlerts = await openAlertsOf(store, tracking)
  for (const alert of openAlerts.toReversed()) view.applyAlert(alert)
  // On a fresh store, the simulated day starts before now: its first WARMUP_MINUTES (and a few
  // more) are replayed at once, so the risk baselines are warm when the story's launch and
  // backlash come, and the backlash can raise its alert. A restart resumes with stored baselines.
  const sources = reads
    ? buildSources(config, {
        simulatorStart,
        simulatorPreroll: latest ? 0 : SIMULATOR_PREROLL_S,
        deadLetter,
        tracking,
        ...(webhook ? { webhook } : {}),
        ...(intake ? { intake } : {}),
      })
    : []
  const live = liveOutputs(layout, app.io, view, webhooks, (error) =>
    app.log.error({ err: error }, 'a live output failed'),
  )
  const common = {
    tracking,
    store,
    deadLetter,
    sources,
    ...(classifier ? { classifier } : {}),
    live,
    routes: routing.routes,
    spools,
    ...(intake ? { intake } : {}),
    onClassified: (ms: number, posts: number) => telemetry.classified(ms, posts),
    replies: { allMentions: config.REPLY_ALL_MENTIONS, targetMs: config.REPLY_TARGET_MINUTES * 60_000 },
    // Within the graceful stop's deadline; what is left drains at the next start.
    drainOnStopMs: SHUTDOWN_TIMEOUT_MS / 2,
    latest,
    openAlerts,
  }
  const run = scaled
    ? await runRoles({
        ...common,
        ...(bus ? { bus } : {}),
        roles,
        ackWaitMs: config.BUS_ACK_WAIT_S * 1000,
        io: app.io,
        clustered: cluster !== undefined,
        onBusWait: (hop, ms) => telemetry.busWaited(hop, ms),
      })
    : await runPipeline({ ...common, classifier: classifier! })
  running = run
  acknowledge = (id) => run.acknowledge(id)
  const stopAcknowledging = (why: string) => {
    acknowledge = () => {
      throw new UnavailableError(`${why}: alerts can no longer be acknowledged`)
    }
  }
  stats = () => ({
    ...run.stats(),
    sources: Object.fromEntries(sources.flatMap((s) => (s.stats ? [[s.name, s.stats]] : []))),
    webhooks: webhooks.stats(),
    deadLetter: deadLetter.counts(),
    spool: Object.fromEntries(
      Object.entries(spools).map(([table, spool]) => [table, { batches: spool.pending(), bytes: spool.bytes() }]),
    ),
  })
  const stopRetention = scheduleRetention(
    store,
    config.RETENTION_DAYS,
    (dropped) =>
      app.log.info(
        { dropped },
        `retention: dropped ${dropped.length} day partitions older than ${config.RETENTION_DAYS} days`,
      ),
    (error) => app.log.error({ err: error }, 'retention failed'),
  )
  if (!config.AUTH_TOKENS && !['127.0.0.1', 'localhost', '::1'].includes(config.HOST))
    app.log.warn(
      `HOST=${config.HOST} serves other machines and AUTH_TOKENS is empty: anyone who reaches the port reads the API and the live stream, and acknowledges alerts`,
    )
  app.log.info(`Undertow wall: ${address} (sources: ${config.SOURCES}, store: ${describeStore(config)})`)
  console.log(`\n  Undertow is running: ${address}\n`)

  const stop = gracefulStop({
    app,
    run,
    webhooks,
    refuseNew: () => {
      stopRetention()
      // Requests from now on are refused (503), not accepted and lost.
      webhook?.close()
      stopAcknowledging('Undertow is shutting down')
    },
    close: [intake, cluster, bus, store, deadLetter],
  })
  stopOnSignals(stop)
  // A pipeline that dies must not leave a server showing a frozen wall.
  run.done.then(
    () => {
      stopAcknowledging('all sources completed and the pipeline has stopped')
      app.log.info('all sources completed; the wall and the API stay up')
    },
    (error: unknown) => {
      app.log.error({ err: error }, 'pipeline failed')
      void stop('pipeline failed', 1)
    },
  )
}

main().catch((error: unknown) => {
  // Start-up errors (configuration, model, store, port) are the operator's to fix: say what,
  // without a stack trace unless asked for one.
  // Messages may quote an address (a library's, say): its credentials are never shown.
  console.error(error instanceof Error && !process.env.DEBUG ? `undertow: ${redactUrl(error.message)}` : error)
  process.exit(1)
})
