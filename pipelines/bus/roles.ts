// The pipeline's three stages (pipeline.ts) as separate processes around the bus:
// - ingest: the sources, related in arrival order (stages/relate-events.ts), published to the bus;
// - worker: related events from the bus, scored and stored (stages/store-events.ts); each one
//   acknowledged once settled, with a record of what the store holds of it on the settled stream;
// - live: the workers' records back in arrival order, the live figures and alerts (stages/live.ts).
// Any number of workers share the work; ingest runs once per source, and live once.
import { bufferTime, filter, lastValueFrom, map, merge, type Observable, share, Subject, takeUntil, tap } from 'rxjs'
import type { Live } from '../contract.ts'
import type { Classifier } from '../../models/classifier.ts'
import type { Alert, SourceEvent, TrackedBrand, WindowAggregate, ConversationSeed, RecentPost } from '../schema.ts'
import { type BusSinkStats, publishToBus } from '../sinks/bus.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'
import type { Spool } from '../sinks/spool.ts'
import { busSource, type BusSourceStats } from '../sources/bus.ts'
import { settledSource } from '../sources/settled.ts'
import { runLive, type LiveCounts } from '../stages/live.ts'
import { type RelateCounts, Relater, relateEvents } from '../stages/relate-events.ts'
import { type Accepted, type StoreCounts, storeEvents } from '../stages/store-events.ts'
import type { Store } from '../store/store.ts'
import type { LedgerSeed } from '../metrics/ledger.ts'
import { ClassifyMeter } from '../transforms/classify.ts'
import { RecentPosts } from '../transforms/relate.ts'
import type { Routes } from '../transforms/route.ts'
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

export function startIngest(deps: {
  bus: Bus
  sources: readonly { name: string; events$: Observable<SourceEvent> }[]
  tracking: readonly TrackedBrand[]
  recentPosts?: readonly RecentPost[]
  deadLetter: DeadLetter
}): RunningRole<{ received: number } & RelateCounts & BusSinkStats> {
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
  const recent = new RecentPosts()
  for (const post of deps.recentPosts ?? []) recent.add(post)
  const relater = new Relater(deps.tracking, recent, deps.deadLetter, stats)
  const stop$ = new Subject<void>()
  const published = deps.sources.map((source) =>
    publishToBus(
      deps.bus.js,
      source.name,
      source.events$.pipe(
        takeUntil(stop$),
        tap(() => stats.received++),
        relateEvents(relater),
      ),
      deps.deadLetter,
      stats,
    ),
  )
  const done = lastValueFrom(merge(...published), { defaultValue: undefined }).then(() => undefined)
  return { stats, done, stop: () => (stop$.next(), done) }
}

export interface WorkerDeps {
  bus: Bus
  classifier: Classifier
  tracking: readonly TrackedBrand[]
  store: Store
  deadLetter: DeadLetter
  ackWaitMs: number
  replies?: { allMentions?: boolean }
  onClassified?: (ms: number, posts: number) => void
  /** Told how long each event waited on the bus before this worker got it. */
  onWaited?: (ms: number) => void
  drainOnStopMs?: number
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
  const meter = new ClassifyMeter(deps.onClassified)
  const stop$ = new Subject<void>()
  const related$ = busSource(() => deps.bus.consumer(), {
    settlement,
    deadLetter: deps.deadLetter,
    behind: () => meter.queued >= INTAKE_HIGH,
    ackWaitMs: deps.ackWaitMs,
    stats: pulled,
    ...(deps.onWaited ? { onWaited: deps.onWaited } : {}),
  }).pipe(takeUntil(stop$), share())
  const { accepted$, engagement$, deletions$ } = storeEvents(related$, {
    classifier: deps.classifier,
    tracking: deps.tracking,
    store: deps.store,
    deadLetter: deps.deadLetter,
    counts,
    meter,
    progress: settlement,
    // Several workers write the same store. None spools: an event is acknowledged only once the
    // store has it, and what the store cannot take now goes back to the bus (which is on disk).
    sharedWriters: true,
    ...(deps.replies ? { replies: deps.replies } : {}),
    ...(deps.drainOnStopMs !== undefined ? { drainOnStopMs: deps.drainOnStopMs } : {}),
  })
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
    stop: () => (stop$.next(), done),
  }
}

export interface LiveDeps {
  bus: Bus
  tracking: readonly TrackedBrand[]
  store: Store
  live: Live
  deadLetter: DeadLetter
  ackWaitMs: number
  initialWindows?: readonly WindowAggregate[]
  seed?: LedgerSeed
  conversations?: ConversationSeed
  openAlerts?: readonly Alert[]
  routes?: Routes
  replies?: { targetMs?: number }
  alertSpool?: Spool<Alert>
  /** The first place whose record is to come, when known (claimSettled); else the first records are gathered. */
  startAt?: { startAt: number; passed: number[] }
  /** Told how long each worker's record waited on the bus (its turn included) before the live figures took it. */
  onWaited?: (ms: number) => void
  drainOnStopMs?: number
}

/** How long the first records are gathered before the order starts (a few store batches). */
const ORDER_START_MS = 2_000
/** Records are handed to the live stage in batches of this long. */
const LIVE_BATCH_MS = 100

export function startLive(
  deps: LiveDeps,
): RunningRole<LiveCounts & { order: ResequenceCounts & { malformed: number } }> & {
  acknowledge(id: string): Alert | null
} {
  const order = { released: 0, late: 0, duplicates: 0, skipped: 0, malformed: 0 }
  const counts = { late: 0, alerts: 0, liveSkipped: 0, order }
  const stop$ = new Subject<void>()
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
  return { stats: counts, done, stop: () => (stop$.next(), done), acknowledge }
}
