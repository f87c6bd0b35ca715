// One post's path, start to end, in three stages (pipelines/stages/):
//   relate-events: source -> normalise -> match -> relate            (in arrival order)
//   store-events:  classify -> triage -> store                        (any order: several workers with a bus)
//   live:          aggregate, measure, assess -> walls, alerts        (in arrival order)
// Engagement updates and deletions take the same three stages (built in topology.ts). Here all
// three run in one process; with a bus (pipelines/bus/roles.ts, the other placement of the same
// stages) the first runs in the ingest process, the second on the workers, and the third once, on
// their records put back in arrival order. Stopping completes the
// sources; completion then flows down, every buffer flushes, and `done` settles once the last
// batch is in the store.
import {
  asyncScheduler,
  connectable,
  lastValueFrom,
  merge,
  type Observable,
  share,
  Subject,
  takeUntil,
  tap,
} from 'rxjs'
import type { Classifier } from '../models/classifier.ts'
import type { Live, Policies, Progress, RelatedEvent, Seeds, Spools, StageBasics } from './contract.ts'
import type { MetricsLedger } from './metrics/ledger.ts'
import type { Alert, SourceEvent } from './schema.ts'
import type { Journal } from './sinks/journal.ts'
import { runLive } from './stages/live.ts'
import { relateStage, scoreStage, stopSignal } from './topology.ts'
import { admit, IntakeSettlement } from './transforms/admit.ts'

export { LIVE_POSTS_MS } from './stages/live.ts'

export interface PipelineDeps extends StageBasics, Seeds, Policies {
  sources: Observable<SourceEvent>[]
  classifier: Classifier
  live: Live
  /** Where the live metrics are kept (default: a new one, seeded with `seed`). */
  ledger?: MetricsLedger
  spools?: Spools
  /**
   * The intake journal (sinks/journal.ts): every event is on disk before it goes on, and stays there
   * until it is stored (transforms/admit.ts); without it events queue in memory.
   */
  intake?: Journal
  /** Told of each batch the classifier scored: how long it took, and how many posts. */
  onClassified?: (ms: number, posts: number) => void
  /** Told which events go on to later stages, and when each is done with. */
  progress?: Progress
}

export interface PipelineStats {
  received: number
  untracked: number
  scored: number
  stored: number
  engagementStored: number
  /** Posts older than the live windows kept: stored, but not pushed live. */
  late: number
  /** Posts and engagement updates dropped because they had been accepted already. */
  duplicates: number
  /** Engagement updates for posts not seen lately, stored without brand and source. */
  unattributed: number
  /** Deletions of posts Undertow holds, stored; and posts removed because of them. */
  deletions: number
  deleted: number
  /** Purges that failed (tried again with the next), and posts given up after too many waited. */
  purgeFailures: number
  purgesGivenUp: number
  /** Deletions of posts not seen lately (untracked, or older than relate remembers): nothing to do. */
  deletionsIgnored: number
  /** Alert changes: raised, escalated, acknowledged or resolved. */
  alerts: number
  /** Posts stored and counted but not pushed to the walls' tickers: more than LIVE_POSTS_PER_BRAND a push. */
  liveSkipped: number
}

/** What waits now, by where (gauges, unlike the counters of PipelineStats). */
export interface PipelineQueues {
  /** Posts in front of the classifier, or in the batch it is scoring. */
  classify: number
  /** Files of events waiting on disk for the classifier, and their bytes. */
  intakeFiles: number
  intakeBytes: number
}

export interface Pipeline {
  stats: PipelineStats
  queues(): PipelineQueues
  /** Settles when every source has completed and everything accepted is stored. */
  done: Promise<void>
  /** Stops the sources and waits for the pipeline to drain. */
  stop(): Promise<void>
  /**
   * A person has seen the open alert with this id: it is acknowledged, pushed live and stored like
   * any change, and goes on (escalates, resolves) as before. Null when no alert with this id is
   * open, or once the alerts have stopped flowing (the pipeline has drained).
   */
  acknowledge(alertId: string): Alert | null
}

export const newStats = (): PipelineStats => ({
  received: 0,
  untracked: 0,
  scored: 0,
  stored: 0,
  engagementStored: 0,
  late: 0,
  duplicates: 0,
  unattributed: 0,
  deletions: 0,
  deleted: 0,
  purgeFailures: 0,
  purgesGivenUp: 0,
  deletionsIgnored: 0,
  alerts: 0,
  liveSkipped: 0,
})

export function startPipeline(deps: PipelineDeps): Pipeline {
  const { deadLetter, scheduler = asyncScheduler } = deps
  const stats = newStats()
  const { stop$, stop } = stopSignal()
  const { recent, relate } = relateStage(deps, stats)
  let stopping = false
  // Each event read from the journal is followed until the store stage is done with it.
  const settlement = deps.intake ? new IntakeSettlement(deps.intake) : undefined
  if (settlement)
    settlement.giveUp = (event, tries) =>
      deadLetter.record(
        'intake',
        `given back ${tries} times (the store or the classifier could not take it each time it was tried)`,
        event,
      )
  const progress = bothProgress(deps.progress, settlement)
  // The classifier is the slow stage: past a bound, new events wait on disk (backpressure).
  let queued = () => 0
  // Connectable: every branch subscribes before the sources start, so a source that emits
  // synchronously is still read once, by all of them.
  const events$ = connectable(
    merge(...deps.sources).pipe(
      takeUntil(stop$),
      admit({
        ...(deps.intake && settlement ? { journal: deps.intake, settlement } : {}),
        queued: () => queued(),
        stopping: () => stopping,
        deadLetter,
        scheduler,
      }),
      tap(() => stats.received++),
    ),
    { connector: () => new Subject<SourceEvent>(), resetOnDisconnect: false },
  )
  const related$: Observable<RelatedEvent> = events$.pipe(relate, share())
  const { accepted$, engagement$, deletions$, meter } = scoreStage(related$, { ...deps, scheduler }, stats, {
    // This process remembers each mention's needs, so its replies need not score it again.
    remember: (id, needsReply) => recent.markNeedsReply(id, needsReply),
    ...(progress ? { progress } : {}),
  })
  queued = () => meter.queued
  const { done$: live$, acknowledge } = runLive(accepted$, engagement$, {
    ...deps,
    counts: stats,
    ...(deps.spools?.alerts ? { alertSpool: deps.spools.alerts } : {}),
    scheduler,
  })

  const done = lastValueFrom(merge(engagement$, deletions$, live$), { defaultValue: undefined }).then(() => undefined)
  events$.connect()
  return {
    stats,
    queues: () => {
      const waiting = deps.intake?.waiting() ?? { segments: 0, bytes: 0 }
      return { classify: meter.queued, intakeFiles: waiting.segments, intakeBytes: waiting.bytes }
    },
    done,
    async stop() {
      stopping = true
      await stop(done)
    },
    acknowledge,
  }
}

/** Both parties told of each event's progress (a caller's, and the journal's). */
function bothProgress(a: Progress | undefined, b: Progress | undefined): Progress | undefined {
  if (!a || !b) return a ?? b
  return {
    taken: (key) => (a.taken(key), b.taken(key)),
    settled: (key, stored, held) => (a.settled(key, stored, held), b.settled(key, stored, held)),
    givenBack: (key, reason) => (a.givenBack(key, reason), b.givenBack(key, reason)),
    deliveries: (key) => Math.min(a.deliveries(key), b.deliveries(key)),
  }
}
