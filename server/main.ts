// The process: read and validate configuration, open the store, start the pipeline and the
// server, and on SIGINT/SIGTERM stop the sources, flush everything to the store, then exit.
import { resolve } from 'node:path'
import { LiveView } from '../pipelines/sinks/live-memory.ts'
import type { Live } from '../pipelines/contract.ts'
import { loadClassifier } from '../models/load.ts'
import { WorkerClassifier } from '../models/worker.ts'
import { openBus } from '../pipelines/bus/nats.ts'
import { DeadLetterFile } from '../pipelines/sinks/deadletter.ts'
import { fanOut } from '../pipelines/sinks/fan-out.ts'
import { liveRelay, receiveLive } from '../pipelines/sinks/relay.ts'
import { SocketIoSink } from '../pipelines/sinks/socketio.ts'
import { WebhookPoster, WebhookSink } from '../pipelines/sinks/webhook.ts'
import { WebhookSource } from '../pipelines/sources/webhook.ts'
import { scheduleRetention } from '../pipelines/store/retention.ts'
import { WARMUP_MINUTES } from '../pipelines/metrics/risk.ts'
import type { Alert } from '../pipelines/schema.ts'
import { AccessTokens, parseAuthTokens } from './access.ts'
import { redactUrl } from '../pipelines/redact.ts'
import { buildServer } from './app.ts'
import { redisAdapter } from './cluster.ts'
import { UnavailableError } from './errors.ts'
import { listOf, loadConfig, rolesOf, routingOf, trustProxyOf } from './config.ts'
import { refuseAbove } from './routes/ingest.ts'
import { Telemetry } from './routes/observability.ts'
import { runPipeline, runRoles, type Running } from './run.ts'
import { buildSources } from './sources.ts'
import { AllowedHosts } from './hosts.ts'
import { loggerOptions } from './logging.ts'
import { describeStore, openIntake, openSpools, openStore } from './storage.ts'
import { loadTracking } from './tracking.ts'

/**
 * Longest a graceful stop may take before the process exits anyway: past one write to a store that
 * hangs (its request timeout, with retries); what is still in memory then is on disk already.
 */
export const SHUTDOWN_TIMEOUT_MS = 45_000
/** Simulated seconds of the day replayed before now on a fresh store: the risk warm-up, and five minutes. */
const SIMULATOR_PREROLL_S = (WARMUP_MINUTES + 5) * 60
/** Events waiting for the bus past which the webhook refuses new requests (503), as it does for a full disk. */
const UNPUBLISHED_MAX = 20_000
/** How long requests still in flight may take once the server closes, before their connections are cut. */
const CLOSE_GRACE_MS = 5_000

async function main(): Promise<void> {
  const config = loadConfig(process.env)
  const tracking = loadTracking(config)
  // With a bus, each process does what ROLES says (pipelines/bus/roles.ts): `ingest` reads the
  // sources, `worker` classifies and stores, `live` computes the live figures, `web` serves the
  // API and the wall. Without one, this process does it all, as one pipeline.
  const roles = rolesOf(config)
  const scaled = config.BUS_URL !== ''
  // A web process alone needs no bus: what it shows comes through Redis, and from the store.
  const usesBus = scaled && (roles.has('ingest') || roles.has('worker') || roles.has('live'))
  const consumers = [
    ...(roles.has('worker') ? (['workers'] as const) : []),
    ...(roles.has('live') ? (['live'] as const) : []),
  ]
  const bus = usesBus
    ? await openBus({
        url: config.BUS_URL,
        ackWaitMs: config.BUS_ACK_WAIT_S * 1000,
        name: `undertow ${[...roles].join('+')} ${process.pid}`,
        consumers,
      })
    : undefined
  const reads = !scaled || roles.has('ingest')
  const works = !scaled || roles.has('worker')
  // The live process and the web processes meet in Redis (socket.io's adapter); the others need not.
  const cluster =
    scaled && config.REDIS_URL && (roles.has('web') || roles.has('live'))
      ? await redisAdapter(config.REDIS_URL, (error) => console.error(`undertow: Redis: ${redactUrl(error.message)}`))
      : undefined
  const store = openStore(config)
  try {
    await store.migrate()
  } catch (error) {
    await store.close().catch(() => {})
    throw new Error(
      `cannot prepare the store (${describeStore(config)}): ${error instanceof Error ? error.message : String(error)}`,
    )
  }
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
  const webhooks = new WebhookSink(
    config.ALERT_WEBHOOK_URL ? new WebhookPoster('the alert webhook', config.ALERT_WEBHOOK_URL, deadLetter) : undefined,
    new Map(
      [...routing.webhooks].map(([team, url]) => [team, new WebhookPoster(`${team}'s webhook`, url, deadLetter)]),
    ),
  )
  let stats = (): object => ({})
  let running: Running | undefined
  const telemetry = new Telemetry()
  // The webhook refuses (503) before the disk where events wait for the classifier fills up:
  // a sender can send again later, while a live stream's events would have to be dead-lettered.
  const busyAbove = intake ? refuseAbove(intake.maxBytes) : Number.POSITIVE_INFINITY
  // With a bus, before the events waiting for it to take them grow past a bound (NATS is down).
  const unpublished = () =>
    Number((running?.stats() as { queues?: { busUnpublished?: number } } | undefined)?.queues?.busUnpublished ?? 0)
  const busy = () =>
    intake && intake.bytes() > busyAbove
      ? `Undertow is behind: ${Math.round(intake.bytes() / 2 ** 20)} MiB of events wait for the classifier`
      : unpublished() > UNPUBLISHED_MAX
        ? `Undertow is behind: ${unpublished()} events wait for the bus to take them`
        : undefined
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
    ...(webhook ? { ingest: { token: config.INGEST_TOKEN, source: webhook, deadLetter, busy } } : {}),
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
  // Alerts left open by the last run go on in the pipeline, and are on the wall's banner from the
  // first snapshot: the newest one of each brand still tracked (the one the pipeline follows).
  const unresolved = [
    ...(await store.alerts({ state: 'open', limit: 1_000 })),
    ...(await store.alerts({ state: 'acknowledged', limit: 1_000 })),
  ]
  const openAlerts = unresolved
    .filter((a) => tracking.some((b) => b.name === a.brand))
    .sort((a, b) => b.at.localeCompare(a.at))
    .filter((a, i, all) => all.findIndex((other) => other.brand === a.brand) === i)
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
  // Where the live figures go. Through the Redis adapter each web process emits to its own walls
  // only (io.local): the live process's pushes reach every web process already.
  const walls = new SocketIoSink(cluster ? app.io.local : app.io, view)
  const onLiveError = (error: unknown) => app.log.error({ err: error }, 'a live output failed')
  const live: Live = fanOut(
    [
      ...(!scaled || roles.has('web') ? [walls] : []),
      ...(cluster && roles.has('live') ? [liveRelay(app.io)] : []),
      webhooks,
    ],
    onLiveError,
  )
  if (cluster && roles.has('web') && !roles.has('live')) receiveLive(app.io, walls, onLiveError)
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

  let stopping = false
  const stop = async (reason: string, code: number) => {
    if (stopping) return
    stopping = true
    app.log.info(`${reason}: stopping sources and flushing to the store`)
    setTimeout(() => {
      app.log.error(`still stopping after ${SHUTDOWN_TIMEOUT_MS} ms; exiting`)
      process.exit(1)
    }, SHUTDOWN_TIMEOUT_MS).unref()
    try {
      stopRetention()
      // Requests from now on are refused (503), not accepted and lost.
      webhook?.close()
      stopAcknowledging('Undertow is shutting down')
      await run.stop()
      // Alerts and team posts still on their way out get the rest of the deadline.
      await Promise.race([webhooks.idle(), new Promise((r) => setTimeout(r, SHUTDOWN_TIMEOUT_MS / 4))])
      webhooks.abandon()
      app.log.info('closing the server: the walls are told, their connections closed')
      // Requests still in flight get a few seconds. A browser's keep-alive connection can outlive
      // the close of idle ones (seen with Chromium under load) and would hold the close open until
      // the deadline, so whatever is left then is cut.
      const cut = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS).unref()
      await app.close()
      clearTimeout(cut)
      app.log.info(`stopped; ${run.summary()}`)
    } finally {
      // What requests wrote to the journal after the pipeline stopped is on disk for the next start.
      await intake?.close()
      await cluster?.close()
      await bus?.close()
      await store.close()
      await deadLetter.close()
      process.exit(code)
    }
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // A second signal means "now": the first is already flushing.
      if (stopping) process.exit(130)
      void stop(signal, 0)
    })
  }
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
