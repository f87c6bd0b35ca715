// The process: read and validate configuration, open the store, start the server and then the
// pipeline (or this process's roles around the bus), and on SIGINT/SIGTERM stop the sources, flush
// everything to the store, then exit. Each start-up step is a small module under server/start/.
import { resolve } from 'node:path'
import { loadClassifier } from '../models/load.ts'
import { WARMUP_MINUTES } from '../pipelines/metrics/risk.ts'
import { redactUrl } from '../pipelines/redact.ts'
import { DeadLetterFile } from '../pipelines/sinks/deadletter.ts'
import { LiveView } from '../pipelines/sinks/live-memory.ts'
import { WebhookSource } from '../pipelines/sources/webhook.ts'
import { scheduleRetention } from '../pipelines/store/retention.ts'
import { listOf, loadConfig, routingOf } from './config.ts'
import { Telemetry } from './routes/observability.ts'
import { startRun } from './run.ts'
import { buildSources } from './sources.ts'
import { RunHandle } from './start/handle.ts'
import { openLayout } from './start/layout.ts'
import { openAlertsOf } from './start/open-alerts.ts'
import { liveOutputs, webhooksOf } from './start/outputs.ts'
import { gracefulStop, stopOnSignals } from './start/shutdown.ts'
import { startWeb } from './start/web.ts'
import { describeStore, openIntake, openSpools, prepareStore } from './storage.ts'
import { loadTracking } from './tracking.ts'

/** Simulated seconds of the day replayed before now on a fresh store: the risk warm-up, and five minutes. */
const SIMULATOR_PREROLL_S = (WARMUP_MINUTES + 5) * 60

async function main(): Promise<void> {
  const config = loadConfig(process.env)
  const tracking = loadTracking(config)
  const layout = await openLayout(config)
  const store = await prepareStore(config)
  // Batches that a crash or an outage left on disk drain first, before anything new is written.
  const spools = openSpools(config)
  // The intake journal: every event on disk before it is acknowledged, until it is stored; what the
  // last run left is read first. With a bus, events wait on the bus instead.
  const intake = layout.scaled ? undefined : openIntake(config)
  const deadLetter = new DeadLetterFile(resolve(config.DATA_DIR, 'dead-letter.ndjson'))
  const classifier = layout.works
    ? await loadClassifier(config.SENTIMENT_MODEL, {
        thread: true,
        threads: config.SENTIMENT_THREADS,
        languages: config.SCORED_LANGUAGES,
      })
    : undefined
  const webhook = layout.reads && listOf(config.SOURCES).includes('webhook') ? new WebhookSource(intake) : undefined
  const [view, telemetry, handle, routing] = [new LiveView(), new Telemetry(), new RunHandle(), routingOf(config)]
  const webhooks = webhooksOf(config, routing, deadLetter)
  const web = { layout, store, view, tracking, routing, classifier, webhook, intake, deadLetter, telemetry, handle }
  // Simulated time runs ahead of the clock (SIM_SPEED); a restarted simulator resumes after the
  // newest stored post. On a fresh store the simulated day starts WARMUP_MINUTES (and a few more)
  // before now, replayed at once, so the risk baselines are warm when the launch and backlash come.
  const latest = await store.latestPostTime()
  const simulatorStart = new Date(Math.max(Date.now(), latest ? Date.parse(latest) + 60_000 : 0)).toISOString()
  const { app, address } = await startWeb(config, web)
  const openAlerts = await openAlertsOf(store, tracking)
  for (const alert of openAlerts.toReversed()) view.applyAlert(alert)
  const sources = layout.reads
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
  const run = await startRun(config, layout, {
    tracking,
    store,
    deadLetter,
    sources,
    live,
    spools,
    latest,
    openAlerts,
    telemetry,
    io: app.io,
    ...(classifier ? { classifier } : {}),
    ...(intake ? { intake } : {}),
    routes: routing.routes,
  })
  handle.started(run, () => ({
    sources: Object.fromEntries(sources.flatMap((s) => (s.stats ? [[s.name, s.stats]] : []))),
    webhooks: webhooks.stats(),
    deadLetter: deadLetter.counts(),
    spool: Object.fromEntries(Object.entries(spools).map(([t, s]) => [t, { batches: s.pending(), bytes: s.bytes() }])),
  }))
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
      handle.stopAcknowledging('Undertow is shutting down')
    },
    close: [intake, layout.cluster, layout.bus, store, deadLetter],
  })
  stopOnSignals(stop)
  // A pipeline that dies must not leave a server showing a frozen wall.
  run.done.then(
    () => {
      handle.stopAcknowledging('all sources completed and the pipeline has stopped')
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
