// What a process runs: the whole pipeline in one process (no bus), or the roles ROLES names around
// the bus (pipelines/bus/roles.ts). Either way main.ts sees one `Running`: its counters, its
// queues, when it is done, how to stop it, and how to acknowledge an alert.
import type { Observable } from 'rxjs'
import type { Live, Policies, Seeds, StageBasics } from '../pipelines/contract.ts'
import type { Classifier } from '../models/classifier.ts'
import type { Bus } from '../pipelines/bus/nats.ts'
import { startIngest, startLive, startWorker } from '../pipelines/bus/roles.ts'
import { recountLock } from '../pipelines/bus/recount-lock.ts'
import { LEDGER_MINUTES } from '../pipelines/metrics/ledger.ts'
import { WAITING_MS } from '../pipelines/metrics/replies.ts'
import { type PipelineQueues, startPipeline } from '../pipelines/pipeline.ts'
import type { Alert, SourceEvent, TrackedBrand } from '../pipelines/schema.ts'
import type { DeadLetter } from '../pipelines/sinks/deadletter.ts'
import { askAcknowledge, answerAcknowledgements, type ServerSide } from '../pipelines/sinks/relay.ts'
import type { Journal } from '../pipelines/sinks/journal.ts'
import type { Store } from '../pipelines/store/store.ts'
import { RETAIN_MINUTES } from '../pipelines/transforms/aggregate.ts'
import { REMEMBERED_POSTS } from '../pipelines/transforms/relate.ts'
import type { Routes } from '../pipelines/transforms/route.ts'
import type { Config, ProcessRole } from './config.ts'
import type { Telemetry } from './routes/observability.ts'
import type { Layout } from './start/layout.ts'
import { SHUTDOWN_TIMEOUT_MS } from './start/shutdown.ts'
import { UnavailableError } from './errors.ts'
import type { openSpools } from './storage.ts'

export interface Running {
  /** The counters of everything this process runs, for /healthz and /metrics. */
  stats(): Record<string, unknown>
  queues(): PipelineQueues
  done: Promise<void>
  stop(): Promise<void>
  acknowledge(id: string): Alert | null | Promise<Alert | null>
  /** One line on what this run did, for the log at the stop. */
  summary(): string
}

export interface RunDeps {
  tracking: readonly TrackedBrand[]
  store: Store
  deadLetter: DeadLetter
  sources: readonly { name: string; events$: Observable<SourceEvent> }[]
  classifier?: Classifier
  /** Where the live figures go in this process (its walls, the webhooks). */
  live: Live
  routes: Routes
  spools: ReturnType<typeof openSpools>
  intake?: Journal
  onClassified: (ms: number, posts: number) => void
  replies: { allMentions: boolean; targetMs: number }
  drainOnStopMs: number
  /** The newest stored post's time, when the store holds any (what the live figures resume from). */
  latest: string | null
  openAlerts: readonly Alert[]
}

/** The store's memory of the stream, for the stages that resume from it after a restart. */
async function seeds(
  store: Store,
  latest: string | null,
  openAlerts: readonly Alert[],
): Promise<Omit<Seeds, 'recentPosts'>> {
  return {
    initialWindows: await store.minuteAggregates({ lastMinutes: RETAIN_MINUTES }),
    // The live metrics and the risk baselines go on from the last stored day.
    ...(latest ? { seed: await store.ledgerSeed(Date.parse(latest) - LEDGER_MINUTES * 60_000) } : {}),
    // Mentions still waiting for a reply, and the brand's own posts' conversations, go on too.
    ...(latest ? { conversations: await store.conversationSeed(Date.parse(latest) - WAITING_MS) } : {}),
    openAlerts,
  }
}

/** What every stage is given, and how mentions are answered and routed: the same in any placement. */
function basicsOf(deps: RunDeps): StageBasics & Policies {
  const { tracking, store, deadLetter, drainOnStopMs, routes, replies } = deps
  return { tracking, store, deadLetter, drainOnStopMs, routes, replies }
}

export async function runPipeline(deps: RunDeps & { classifier: Classifier }): Promise<Running> {
  const pipeline = startPipeline({
    ...basicsOf(deps),
    recentPosts: await deps.store.recentPosts(REMEMBERED_POSTS),
    ...(await seeds(deps.store, deps.latest, deps.openAlerts)),
    sources: deps.sources.map((s) => s.events$),
    classifier: deps.classifier,
    live: deps.live,
    spools: deps.spools,
    ...(deps.intake ? { intake: deps.intake } : {}),
    onClassified: deps.onClassified,
  })
  return {
    stats: () => ({ ...pipeline.stats, queues: pipeline.queues() }),
    queues: () => pipeline.queues(),
    done: pipeline.done,
    stop: () => pipeline.stop(),
    acknowledge: (id) => pipeline.acknowledge(id),
    summary: () => `${pipeline.stats.stored} posts stored this run`,
  }
}

export async function runRoles(
  deps: RunDeps & {
    bus?: Bus
    roles: ReadonlySet<ProcessRole>
    ackWaitMs: number
    io: ServerSide
    clustered: boolean
    onBusWait: (hop: 'to_worker' | 'to_live', ms: number) => void
  },
): Promise<Running> {
  const { roles } = deps
  // Workers write the same store: they recount what failed writes missed one at a time (recount.ts).
  if (deps.bus && deps.store.recounter) deps.store.recounter.lock = await recountLock(deps.bus.nc)
  const needBus = () => {
    if (!deps.bus) throw new Error('ingest, worker and live need the bus (BUS_URL)')
    return deps.bus
  }
  const ingest = roles.has('ingest')
    ? startIngest({
        ...basicsOf(deps),
        bus: needBus(),
        sources: deps.sources,
        recentPosts: await deps.store.recentPosts(REMEMBERED_POSTS),
      })
    : undefined
  const worker =
    roles.has('worker') && deps.classifier
      ? startWorker({
          ...basicsOf(deps),
          bus: needBus(),
          classifier: deps.classifier,
          ackWaitMs: deps.ackWaitMs,
          onClassified: deps.onClassified,
          onWaited: (ms) => deps.onBusWait('to_worker', ms),
        })
      : undefined
  // The live figures start from the store, which holds what the records waiting on the bus say.
  const startAt = roles.has('live') ? await needBus().claimSettled() : undefined
  const live = roles.has('live')
    ? startLive({
        ...basicsOf(deps),
        ...(await seeds(deps.store, deps.latest, deps.openAlerts)),
        ...(startAt !== undefined ? { startAt } : {}),
        bus: needBus(),
        live: deps.live,
        ackWaitMs: deps.ackWaitMs,
        ...(deps.spools.alerts ? { alertSpool: deps.spools.alerts } : {}),
        onWaited: (ms) => deps.onBusWait('to_live', ms),
      })
    : undefined
  // Every process on the adapter answers the others' requests (or they would wait for it): only
  // the live one holds the alerts; any other answers that it holds none.
  if (deps.clustered) answerAcknowledgements(deps.io, live ? (id) => live.acknowledge(id) : () => null)
  const parts = [ingest, worker, live].filter((p) => p !== undefined)
  const queues = () => ({ classify: worker?.queued() ?? 0, intakeFiles: 0, intakeBytes: 0 })
  return {
    // Counters at the top (they become undertow_pipeline_events_total); what waits now under queues.
    stats: () => {
      const { unpublished = 0, ...published } = ingest?.stats ?? {}
      const { waiting = 0, ...settled } = worker?.stats ?? {}
      return {
        ...published,
        ...settled,
        ...live?.stats,
        queues: { ...queues(), busUnpublished: unpublished, busUnacknowledged: waiting },
      }
    },
    queues,
    // A web process alone has nothing that completes: it serves until it is stopped.
    done: parts.length > 0 ? Promise.all(parts.map((p) => p.done)).then(() => undefined) : new Promise<void>(() => {}),
    // Upstream first: what ingest published is stored, and what the workers stored is counted.
    async stop() {
      for (const part of parts) await part.stop()
    },
    async acknowledge(id) {
      if (live) return live.acknowledge(id)
      if (!deps.clustered)
        throw new UnavailableError('alerts are followed by the live process, and this process reaches none (REDIS_URL)')
      try {
        return await askAcknowledge(deps.io, id)
      } catch (error) {
        throw new UnavailableError(
          `the live process did not acknowledge: ${error instanceof Error ? error.message : String(error)}`,
        )
      }
    },
    summary: () =>
      `${[ingest && `${ingest.stats.published} events published`, worker && `${worker.stats.stored} posts stored`, live && `${live.stats.order.released} events counted live`].filter(Boolean).join(', ')} this run`,
  }
}

/** The run this process's layout calls for: the whole pipeline, or its roles around the bus. */
export function startRun(
  config: Config,
  layout: Layout,
  deps: Omit<RunDeps, 'replies' | 'drainOnStopMs' | 'onClassified'> & { io: ServerSide; telemetry: Telemetry },
): Promise<Running> {
  const { telemetry, io, ...rest } = deps
  const common: RunDeps = {
    ...rest,
    onClassified: (ms, posts) => telemetry.classified(ms, posts),
    replies: { allMentions: config.REPLY_ALL_MENTIONS, targetMs: config.REPLY_TARGET_MINUTES * 60_000 },
    // Within the graceful stop's deadline; what is left drains at the next start.
    drainOnStopMs: SHUTDOWN_TIMEOUT_MS / 2,
  }
  if (!layout.scaled) return runPipeline({ ...common, classifier: common.classifier! })
  return runRoles({
    ...common,
    ...(layout.bus ? { bus: layout.bus } : {}),
    roles: layout.roles,
    ackWaitMs: config.BUS_ACK_WAIT_S * 1000,
    io,
    clustered: layout.cluster !== undefined,
    onBusWait: (hop, ms) => telemetry.busWaited(hop, ms),
  })
}
