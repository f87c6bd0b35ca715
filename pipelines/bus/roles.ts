// The pipeline's three stages (pipeline.ts) as separate processes around the bus:
// - ingest: the sources, related in arrival order (stages/relate-events.ts), published to the bus;
// - worker: related events from the bus, scored and stored (stages/store-events.ts); each one
//   acknowledged once settled, with a record of what the store holds of it on the settled stream;
// - live: the workers' records back in arrival order, the live figures and alerts (stages/live.ts).
// Any number of workers share the work; ingest runs once per source, and live once.
import { bufferTime, filter, lastValueFrom, map, merge, type Observable, share, takeUntil, tap } from 'rxjs'
import type { Live, Policies, Seeds, StageBasics } from '../contract.ts'
import type { Alert, SourceEvent } from '../schema.ts'
import { type BusSinkStats, publishToBus } from '../sinks/bus.ts'
import type { Spool } from '../sinks/spool.ts'
import { busSource, type BusSourceStats } from '../sources/bus.ts'
import { settledSource } from '../sources/settled.ts'
import { runLive, type LiveCounts } from '../stages/live.ts'
import type { RelateCounts } from '../stages/relate-events.ts'
import type { Accepted, StoreCounts } from '../stages/store-events.ts'
import { relateStage, type ScoreDeps, scoreStage, stopSignal } from '../topology.ts'
import { INTAKE_HIGH } from '../transforms/admit.ts'
import type { Bus } from './nats.ts'
import type { ResequenceCounts } from './resequence.ts'
import { Settlement } from './settlement.ts'

/** A running role: what it did so far, when it is done, and how to stop it (it drains first). */
export interface RunningRole<S extends object> {
  stats: S
  done: Promise<void>
  stop(): Promise<void>
}

export function startIngest(
  deps: Pick<StageBasics, 'tracking' | 'deadLetter'> &
    Pick<Seeds, 'recentPosts'> & { bus: Bus; sources: readonly { name: string; events$: Observable<SourceEvent> }[] },
): RunningRole<{ received: number } & RelateCounts & BusSinkStats> {
  const stats = {
    received: 0,
    untracked: 0,
    unattributed: 0,
    deletionsIgnored: 0,
    published: 0,
    unpublished: 0,
    retries: 0,
    refused: 0,
  }
  const { relate } = relateStage(deps, stats)
  const { stop$, stop } = stopSignal()
  const published = deps.sources.map((source) =>
    publishToBus(
      deps.bus.js,
      source.name,
      source.events$.pipe(
        takeUntil(stop$),
        tap(() => stats.received++),
        relate,
      ),
      deps.deadLetter,
      stats,
    ),
  )
  const done = lastValueFrom(merge(...published), { defaultValue: undefined }).then(() => undefined)
  return { stats, done, stop: () => stop(done) }
}

/** A worker spools nothing: an event is acknowledged only once the store has it (see below). */
export interface WorkerDeps extends Omit<ScoreDeps, 'spools'> {
  bus: Bus
  ackWaitMs: number
  /** Told how long each event waited on the bus before this worker got it. */
  onWaited?: (ms: number) => void
}

export function startWorker(
  deps: WorkerDeps,
): RunningRole<
  StoreCounts & { pulled: BusSourceStats; waiting: number; acknowledged: number; givenBack: number; givenUp: number }
> & { queued(): number } {
  const counts: StoreCounts = {
    scored: 0,
    stored: 0,
    engagementStored: 0,
    duplicates: 0,
    deletions: 0,
    deleted: 0,
    purgeFailures: 0,
    purgesGivenUp: 0,
  }
  const pulled: BusSourceStats = { received: 0, redelivered: 0, malformed: 0, restarts: 0 }
  const settlement = new Settlement((records) => deps.bus.publishSettled(records), deps.deadLetter)
  const { stop$, stop } = stopSignal()
  let queued = () => 0
  const related$ = busSource(() => deps.bus.consumer(), {
    settlement,
    deadLetter: deps.deadLetter,
    behind: () => queued() >= INTAKE_HIGH,
    ackWaitMs: deps.ackWaitMs,
    stats: pulled,
    ...(deps.onWaited ? { onWaited: deps.onWaited } : {}),
  }).pipe(takeUntil(stop$), share())
  // Several workers write the same store. None spools: an event is acknowledged only once the
  // store has it, and what the store cannot take now goes back to the bus (which is on disk).
  const { accepted$, engagement$, deletions$, meter } = scoreStage(related$, deps, counts, {
    progress: settlement,
    sharedWriters: true,
  })
  queued = () => meter.queued
  // What was settled before the stop is acknowledged before `done`: the rest goes to other workers.
  const done = lastValueFrom(merge(accepted$, engagement$, deletions$), { defaultValue: undefined }).then(() =>
    settlement.flush(),
  )
  const stats = Object.assign(counts, { pulled, waiting: 0, acknowledged: 0, givenBack: 0, givenUp: 0 })
  return {
    get stats() {
      return Object.assign(stats, {
        waiting: settlement.size,
        acknowledged: settlement.acknowledged,
        givenBack: settlement.givenBackCount,
        givenUp: settlement.givenUp,
      })
    },
    queued: () => meter.queued,
    done,
    stop: () => stop(done),
  }
}

export interface LiveDeps extends StageBasics, Omit<Seeds, 'recentPosts'>, Policies {
  bus: Bus
  live: Live
  ackWaitMs: number
  alertSpool?: Spool<Alert>
  /** The first place whose record is to come, when known (claimSettled); else the first records are gathered. */
  startAt?: { startAt: number; passed: number[] }
  /** Told how long each worker's record waited on the bus (its turn included) before the live figures took it. */
  onWaited?: (ms: number) => void
}

/** How long the first records are gathered before the order starts (a few store batches). */
const ORDER_START_MS = 2_000
/** Records are handed to the live stage in batches of this long. */
const LIVE_BATCH_MS = 100

export function startLive(deps: LiveDeps): RunningRole<
  LiveCounts & { order: ResequenceCounts & { malformed: number } }
> & {
  acknowledge(id: string): Alert | null
} {
  const order = { released: 0, late: 0, duplicates: 0, skipped: 0, malformed: 0 }
  const counts = { late: 0, alerts: 0, liveSkipped: 0, order }
  const { stop$, stop } = stopSignal()
  // A record overdue for this long belongs to an event JetStream gave up on (or to a worker that
  // hangs past every wait): its place is passed over.
  const gapMs = Math.max(60_000, 4 * deps.ackWaitMs)
  const records$ = settledSource(() => deps.bus.settledConsumer(), {
    deadLetter: deps.deadLetter,
    startMs: ORDER_START_MS,
    gapMs,
    ackWaitMs: deps.ackWaitMs,
    counts: order,
    ...(deps.onWaited ? { onWaited: deps.onWaited } : {}),
    ...(deps.startAt !== undefined ? { startAt: deps.startAt } : {}),
  }).pipe(
    takeUntil(stop$),
    bufferTime(LIVE_BATCH_MS),
    filter((records) => records.length > 0),
    share(),
  )
  const accepted$: Observable<Accepted> = records$.pipe(
    map((records) => {
      const written = records.flatMap((r) => (r.post ? [r.post] : []))
      return { written, shown: records.flatMap((r) => (r.post && !r.hidden ? [r.post] : [])) }
    }),
    filter((a) => a.written.length > 0),
  )
  const engagement$ = records$.pipe(
    map((records) => records.flatMap((r) => (r.engagement ? [r.engagement] : []))),
    filter((updates) => updates.length > 0),
  )
  const { done$, acknowledge } = runLive(accepted$, engagement$, { ...deps, counts })

  const done = lastValueFrom(done$, { defaultValue: undefined }).then(() => undefined)
  return { stats: counts, done, stop: () => stop(done), acknowledge }
}
