// GET /metrics: Prometheus text format (prom-client), read at scrape time from the same figures as
// /healthz: the pipeline's events by what became of them, dead letters by stage, the spool by
// table, outbound webhooks, connected walls, and the process (CPU, memory, event-loop lag).
// The queues (in front of the classifier, on disk), the classifier's batch latency, and alerts.
// GET /readyz: 200 once the store answers, the model is loaded, the pipeline runs and every live
// source is connected (or reconnecting within SOURCE_DOWN_GRACE_S); 503 with what is missing (a load balancer sends no traffic to an instance
// still loading, or cut off from its store or its streams).
import type { FastifyPluginAsync } from 'fastify'
import type { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Store } from '../../pipelines/store/store.ts'
import type { HealthInfo } from './health.ts'

/** The metrics fed as things happen (the rest are read at scrape time); main.ts hands `classified` to the pipeline. */
export class Telemetry {
  readonly registry = new Registry()
  private readonly batchSeconds = new Histogram({
    name: 'undertow_classifier_batch_seconds',
    help: 'How long the classifier took per batch of posts (up to 256)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  })
  private readonly postSeconds = new Histogram({
    name: 'undertow_classifier_post_seconds',
    help: "The classifier's time per post (a batch's time over its posts)",
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [this.registry],
  })

  private readonly busWaitSeconds = new Histogram({
    name: 'undertow_bus_wait_seconds',
    help: "How long an event waited on the bus: from its publish to a worker (hop to_worker), and a worker's record of it from its publish to the live figures, in order (hop to_live)",
    labelNames: ['hop'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  })

  /** An event's wait on the bus (with a bus: pipelines/bus/roles.ts). */
  busWaited(hop: 'to_worker' | 'to_live', ms: number): void {
    this.busWaitSeconds.observe({ hop }, Math.max(0, ms) / 1000)
  }

  classified(ms: number, posts: number): void {
    this.batchSeconds.observe(ms / 1000)
    if (posts > 0) this.postSeconds.observe(ms / 1000 / posts)
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const numbers = (v: unknown) =>
  isRecord(v) ? Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number') : []

export const observabilityRoutes: FastifyPluginAsync<{
  store: Store
  info: HealthInfo
  view: LiveView
  clients: () => number
  telemetry?: Telemetry
}> = async (app, { store, info, view, clients, telemetry = new Telemetry() }) => {
  const { registry } = telemetry
  collectDefaultMetrics({ register: registry, prefix: 'undertow_' })
  const stats = () => info.stats() as Record<string, unknown>
  const sourceStats = () => {
    const sources = stats().sources
    return isRecord(sources)
      ? (Object.fromEntries(Object.entries(sources).filter(([, s]) => isRecord(s))) as Record<
          string,
          { connected?: unknown; since?: unknown; lastError?: unknown }
        >)
      : {}
  }
  const registers = [registry]

  new Counter({
    name: 'undertow_pipeline_events_total',
    help: 'Events through the pipeline by what became of them: received, untracked, scored, stored, late, duplicates, deletions, alerts, ...',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset()
      for (const [outcome, n] of numbers(stats())) this.inc({ outcome }, n)
    },
  })
  new Counter({
    name: 'undertow_dead_letters_total',
    help: 'Records refused and kept in the dead-letter file, by stage',
    labelNames: ['stage'],
    registers,
    collect() {
      this.reset()
      for (const [stage, n] of numbers(stats().deadLetter)) this.inc({ stage }, n)
    },
  })
  new Counter({
    name: 'undertow_bus_messages_total',
    help: 'With a bus: messages a worker pulled (received, redelivered, malformed, restarts), and records the live process took (released, late, duplicates, skipped, malformed)',
    labelNames: ['part', 'outcome'],
    registers,
    collect() {
      this.reset()
      for (const part of ['pulled', 'order'] as const)
        for (const [outcome, n] of numbers(stats()[part])) this.inc({ part, outcome }, n)
    },
  })
  const spool = (what: 'batches' | 'bytes', help: string) =>
    new Gauge({
      name: `undertow_spool_${what}`,
      help,
      labelNames: ['table'],
      registers,
      collect() {
        this.reset()
        const tables = stats().spool
        if (isRecord(tables))
          for (const [table, s] of Object.entries(tables))
            if (isRecord(s) && typeof s[what] === 'number') this.set({ table }, s[what])
      },
    })
  spool('batches', 'Batches waiting on disk for the store (an outage, or a crash, left them)')
  spool('bytes', 'Bytes waiting on disk for the store')
  new Counter({
    name: 'undertow_webhook_messages_total',
    help: 'Outbound webhook messages (alerts, team feeds) by target and outcome',
    labelNames: ['target', 'outcome'],
    registers,
    collect() {
      this.reset()
      const hooks = stats().webhooks
      if (isRecord(hooks))
        for (const [target, s] of Object.entries(hooks))
          for (const [outcome, n] of numbers(s)) this.inc({ target, outcome }, n)
    },
  })
  new Gauge({
    name: 'undertow_socket_clients',
    help: 'Walls (socket.io clients) connected now',
    registers,
    collect() {
      this.set(clients())
    },
  })

  new Gauge({
    name: 'undertow_queue_depth',
    help: 'What waits now: posts in front of the classifier (classify), files of events waiting on disk for it (intake_files)',
    labelNames: ['queue'],
    registers,
    collect() {
      this.reset()
      const queues = stats().queues
      if (isRecord(queues)) {
        if (typeof queues.classify === 'number') this.set({ queue: 'classify' }, queues.classify)
        if (typeof queues.intakeFiles === 'number') this.set({ queue: 'intake_files' }, queues.intakeFiles)
        // With a bus: events ingest has yet to publish, and events a worker holds unacknowledged.
        if (typeof queues.busUnpublished === 'number') this.set({ queue: 'bus_unpublished' }, queues.busUnpublished)
        if (typeof queues.busUnacknowledged === 'number')
          this.set({ queue: 'bus_unacknowledged' }, queues.busUnacknowledged)
      }
    },
  })
  new Gauge({
    name: 'undertow_intake_bytes',
    help: 'Bytes of events waiting on disk for the classifier',
    registers,
    collect() {
      const queues = stats().queues
      this.set(isRecord(queues) && typeof queues.intakeBytes === 'number' ? queues.intakeBytes : 0)
    },
  })
  new Gauge({
    name: 'undertow_alerts',
    help: 'Backlash alerts now, by state (open, acknowledged) and severity; resolved ones are not counted',
    labelNames: ['state', 'severity'],
    registers,
    collect() {
      this.reset()
      for (const state of ['open', 'acknowledged'] as const)
        for (const severity of ['warning', 'critical'] as const) this.set({ state, severity }, 0)
      for (const alert of view.recentAlerts())
        if (alert.state !== 'resolved') this.inc({ state: alert.state, severity: alert.severity })
    },
  })
  new Gauge({
    name: 'undertow_source_connected',
    help: 'Whether each live source (jetstream, mastodon, hackernews) reaches its service now (1) or not (0)',
    labelNames: ['source'],
    registers,
    collect() {
      this.reset()
      for (const [source, s] of Object.entries(sourceStats())) this.set({ source }, s.connected ? 1 : 0)
    },
  })

  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()))

  app.get('/readyz', async (_request, reply) => {
    const storeUp = await store.ping()
    const running = info.running ? info.running() : typeof stats().received === 'number'
    // A source reconnecting is given a grace (a stream that drops and comes back is normal); past
    // it, this instance is not ready. At start, the grace is the time it has to connect.
    const grace = info.sourceGraceMs ?? 30_000
    const offline = Object.entries(sourceStats())
      .filter(([, s]) => s.connected !== true && Date.now() - (typeof s.since === 'number' ? s.since : 0) > grace)
      .map(
        ([name, s]) => `source ${name} is not connected${typeof s.lastError === 'string' ? ` (${s.lastError})` : ''}`,
      )
    // The model loads before the server starts: a server that answers has its classifier.
    const classifying = info.classifierReady?.() ?? true
    const missing = [
      ...(storeUp ? [] : ['the store does not answer']),
      ...(running ? [] : ['the pipeline has not started']),
      ...(classifying ? [] : ["the classifier's thread is starting again"]),
      ...offline,
      ...(info.problems?.() ?? []),
    ]
    return reply
      .status(missing.length === 0 ? 200 : 503)
      .send({ ready: missing.length === 0, classifier: info.classifier, ...(missing.length ? { missing } : {}) })
  })
}
