// One post's path, start to end: source -> normalise -> match -> relate -> classify -> triage ->
// store -> aggregate, measure, assess -> live. Engagement updates from the sources go straight to the store. A deletion of a post
// Undertow holds is stored, and the post purged from the posts table (or dropped before it gets
// there, when it is still on its way). Stopping completes the
// sources; completion then flows down, every buffer flushes, and `done` settles once the last
// batch is in the store.
import { asyncScheduler, bufferTime, concatMap, connectable, filter, finalize, lastValueFrom, map, merge, mergeMap, type Observable, type SchedulerLike, share, Subject, takeUntil, tap } from 'rxjs'
import type { Classifier } from '../models/classifier.ts'
import type { Alert, BrandMetrics, Dialogue, PostDeletion, Responsiveness, RiskReading, ScoredPost, SourceEvent, TrackedBrand, WindowAggregate } from './schema.ts'
import { clickhouseSink } from './sinks/clickhouse.ts'
import type { Spool } from './sinks/spool.ts'
import type { DeadLetter } from './sinks/deadletter.ts'
import { Purge } from './sinks/purge.ts'
import { RecentKeys } from './sinks/recent-keys.ts'
import type { AttributedEngagement, ConversationSeed, Store } from './store/store.ts'
import type { AlertChange } from './metrics/alerting.ts'
import { BacklashWatch } from './metrics/backlash.ts'
import { replyRules } from './metrics/replies.ts'
import { type LedgerSeed, MetricsLedger } from './metrics/ledger.ts'
import { assess } from './transforms/assess.ts'
import { aggregate, stateFrom } from './transforms/aggregate.ts'
import { measure, type Measured } from './transforms/measure.ts'
import { attribute, RecentPosts, type RecentPost, relate } from './transforms/relate.ts'
import { admit } from './transforms/admit.ts'
import { classify, ClassifyMeter } from './transforms/classify.ts'
import { match } from './transforms/match.ts'
import { normalise, normaliseDeletion, normaliseEngagement } from './transforms/normalise.ts'
import { DEFAULT_ROUTES, route, type Routes } from './transforms/route.ts'
import { triage } from './transforms/triage.ts'
import { LIVE_POSTS_PER_BRAND, newestPerBrand } from './transforms/shortlist.ts'
import { deletionKey, engagementKey, postKey, type Progress } from './bus/settlement.ts'

/** How often new posts are pushed to the walls' tickers. */
export const LIVE_POSTS_MS = 250
/** Posts deleted lately, dropped if they are still on their way to the store. */
export const RECENT_DELETIONS = 100_000

export interface Live {
  pushWindows(windows: WindowAggregate[]): void
  pushPosts(posts: ScoredPost[]): void
  pushMetrics(metrics: BrandMetrics[]): void
  pushRisk(readings: RiskReading[]): void
  pushResponsiveness(brands: Responsiveness[]): void
  pushDialogue(brands: Dialogue[]): void
  pushAlert(change: AlertChange): void
  /** The posts routed to one team (transforms/route.ts) lately. */
  pushTeamPosts(team: string, posts: ScoredPost[]): void
}

export interface PipelineDeps {
  sources: Observable<SourceEvent>[]
  classifier: Classifier
  tracking: readonly TrackedBrand[]
  store: Store
  live: Live
  deadLetter: DeadLetter
  /** The store's recent windows, so live windows continue from what is stored (after a restart). */
  initialWindows?: readonly WindowAggregate[]
  /** The store's newest posts, oldest first, so replies and engagement relate across a restart. */
  recentPosts?: readonly RecentPost[]
  /** Where the live metrics are kept (default: a new one, seeded with `seed`). */
  ledger?: MetricsLedger
  /** The store's mentions waiting for replies and own posts, so responsiveness and dialogue resume. */
  conversations?: ConversationSeed
  /** Alerts still open when the last run stopped, newest first: they go on, and resolve in time. */
  openAlerts?: readonly Alert[]
  /** The store's last day of minutes and authors, so live metrics and risk baselines resume after a restart. */
  seed?: LedgerSeed
  /** Which team each intent goes to (default DEFAULT_ROUTES). */
  routes?: Routes
  /** Which mentions need a reply (every direct @-mention too?) and the reply target. */
  replies?: { allMentions?: boolean; targetMs?: number }
  /** After the sources stop, how long the sinks go on draining their spools (default: until done). */
  drainOnStopMs?: number
  /** Where each table's batches wait while the store is unreachable (see sinks/spool.ts). */
  spools?: { posts?: Spool<ScoredPost>; engagement?: Spool<AttributedEngagement>; deletions?: Spool<PostDeletion>; alerts?: Spool<Alert> }
  /** Most posts of a brand the walls are sent a push (default LIVE_POSTS_PER_BRAND; Infinity sends all). */
  livePostsPerBrand?: number
  /** Where new events wait while the classifier is behind (transforms/admit.ts); without it they queue in memory. */
  intake?: Spool<SourceEvent>
  /** Told of each batch the classifier scored: how long it took, and how many posts. */
  onClassified?: (ms: number, posts: number) => void
  /** Told which events go on to later stages, and when each is done with (a bus worker acknowledges it then: bus/settlement.ts). */
  progress?: Progress
  scheduler?: SchedulerLike
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

export function startPipeline(deps: PipelineDeps): Pipeline {
  const { classifier, tracking, store, live, scheduler = asyncScheduler } = deps
  const progress = deps.progress
  // An event kept in the dead-letter record is done with, as much as a stored one.
  const deadLetter = progress ? settleDeadLetters(deps.deadLetter, progress) : deps.deadLetter
  const stats: PipelineStats = { received: 0, untracked: 0, scored: 0, stored: 0, engagementStored: 0, late: 0, duplicates: 0, unattributed: 0, deletions: 0, deleted: 0, purgeFailures: 0, purgesGivenUp: 0, deletionsIgnored: 0, alerts: 0, liveSkipped: 0 }
  // Each table's sink: its one writer, asking the store what is new, spooling through outages.
  const storeSink = <T>(
    table: string,
    key: (item: T) => string,
    insert: (batch: T[], options: { checked: boolean }) => Promise<unknown>,
    unstored: (batch: T[]) => Promise<T[]>,
    spool: Spool<T> | undefined,
    settledKey?: (item: T) => string,
  ) =>
    clickhouseSink<T>(table, (batch, checked) => insert(batch, { checked }), {
      deadLetter,
      spool,
      key,
      unstored,
      onDuplicate: (item) => {
        duplicate()
        if (progress && settledKey) progress.settled([settledKey(item)])
      },
      drainAfterInputMs: deps.drainOnStopMs,
      scheduler,
    })
  const recentPosts = new RecentPosts()
  for (const post of deps.recentPosts ?? []) recentPosts.add(post)
  const duplicate = () => stats.duplicates++
  const stop$ = new Subject<void>()
  const windows = stateFrom(deps.initialWindows ?? [])
  const ledger = deps.ledger ?? new MetricsLedger(tracking)
  const watch = new BacklashWatch(tracking, { replyTargetMs: deps.replies?.targetMs })
  if (deps.seed) watch.seed(deps.seed)
  watch.resume(deps.openAlerts ?? [])
  if (deps.conversations) watch.seedConversations(deps.conversations)
  if (deps.seed && !deps.ledger) ledger.seed(deps.seed)

  // Connectable: every branch subscribes before the sources start, so a source that emits
  // synchronously is still read once, by all of them.
  // The classifier is the slow stage: past a bound, new events wait on disk (backpressure).
  const meter = new ClassifyMeter(deps.onClassified)
  let stopping = false
  const events$ = connectable(
    merge(...deps.sources).pipe(
      takeUntil(stop$),
      admit({ spill: deps.intake, queued: () => meter.queued, stopping: () => stopping, deadLetter, scheduler }),
      tap(() => stats.received++),
    ),
    { connector: () => new Subject<SourceEvent>(), resetOnDisconnect: false },
  )
  const deletedLately = new RecentKeys(RECENT_DELETIONS)
  const scored$ = events$.pipe(
    filter((e) => e.kind === 'post'),
    map((e) => e.post),
    normalise(deadLetter),
    match(tracking, () => stats.untracked++, (id) => recentPosts.inThread(id)),
    relate(recentPosts),
    tap((post) => progress?.taken(postKey(post.id))),
    classify(classifier, deadLetter, scheduler, meter),
    triage(replyRules(tracking, deps.replies?.allMentions), recentPosts),
    // Deleted while it was being classified: it never reaches the store.
    filter((post) => {
      stats.scored++
      if (!deletedLately.has(post.id)) return true
      stats.deleted++
      progress?.settled([postKey(post.id)])
      return false
    }),
  )
  // Live figures are computed from posts once the store has accepted them (stored, or spooled to
  // disk while it is unreachable), so the wall never shows a count the store will not hold.
  const purge = new Purge(store, stats)
  const accepted$ = scored$.pipe(
    storeSink('posts', (p) => p.id, store.insertPosts.bind(store), store.unstoredPosts.bind(store), deps.spools?.posts, (p: ScoredPost) => postKey(p.id)),
    tap((written) => {
      stats.stored += written.length
      progress?.settled(written.map((p) => postKey(p.id)))
    }),
    // Deleted while it waited in the sink: stored after its deletion's purge ran, so purged now.
    concatMap(async (written) => {
      const deleted = written.filter((p) => deletedLately.has(p.id))
      if (deleted.length > 0) await purge.remove(deleted)
      return { written, shown: deleted.length === 0 ? written : written.filter((p) => !deletedLately.has(p.id)) }
    }),
    share(),
  )
  // The counts (windows, metrics, risk) take every post the store accepted, as its materialized
  // views did, deleted or not; the walls' tickers and the team feeds show only those not deleted.
  const stored$ = accepted$.pipe(map((a) => a.written))
  const shown$ = accepted$.pipe(map((a) => a.shown))
  const engagement$ = events$.pipe(
    filter((e): e is Extract<SourceEvent, { kind: 'engagement' }> => e.kind === 'engagement'),
    map((e): unknown => e.update),
    normaliseEngagement(deadLetter),
    attribute(recentPosts, () => stats.unattributed++),
    tap((u) => progress?.taken(engagementKey(u.id))),
    storeSink('engagement', (u) => u.id, store.insertEngagement.bind(store), store.unstoredEngagement.bind(store), deps.spools?.engagement, (u: AttributedEngagement) => engagementKey(u.id)),
    tap((written) => {
      stats.engagementStored += written.length
      progress?.settled(written.map((u) => engagementKey(u.id)))
    }),
    share(),
  )
  const deletions$ = events$.pipe(
    filter((e) => e.kind === 'delete'),
    map((e): unknown => ({ postId: e.postId, at: e.at })),
    normaliseDeletion(deadLetter),
    // Only posts relate has seen (tracked ones, in flight or stored lately) can be held.
    filter((d) => {
      if (recentPosts.get(d.postId)) return true
      stats.deletionsIgnored++
      return false
    }),
    tap((d) => {
      deletedLately.add(d.postId)
      progress?.taken(deletionKey(d.postId))
    }),
    storeSink('post_deletions', (d) => d.postId, store.insertDeletions.bind(store), store.unstoredDeletions.bind(store), deps.spools?.deletions, (d: PostDeletion) => deletionKey(d.postId)),
    tap((written) => {
      stats.deletions += written.length
      progress?.settled(written.map((d) => deletionKey(d.postId)))
    }),
    concatMap((written) => purge.remove(written.map((d) => ({ id: d.postId, createdAt: recentPosts.get(d.postId)?.createdAt ?? d.at })))),
  )
  // Backlash risk from stored posts; alerts are pushed as they change and stored like any write.
  // Acknowledgements come from people (the API), between readings, and take the same way out;
  // they stop when the readings do, so the alerts' sink can drain and complete.
  const acknowledged$ = new Subject<AlertChange>()
  let acknowledging = true
  const alertChanges$ = merge(
    stored$.pipe(
      mergeMap((batch) => batch),
      assess(watch),
      tap((a) => {
        if (a.readings.length > 0) live.pushRisk(a.readings)
        if (a.responsiveness.length > 0) live.pushResponsiveness(a.responsiveness)
        if (a.dialogue.length > 0) live.pushDialogue(a.dialogue)
        stats.alerts += a.changes.length
      }),
      mergeMap((a) => a.changes),
      finalize(() => {
        acknowledging = false
        acknowledged$.complete()
      }),
    ),
    acknowledged$,
  ).pipe(tap((change) => live.pushAlert(change)))
  const alerts$ = alertChanges$.pipe(
    map((change) => change.alert),
    storeSink(
      'alerts',
      (a) => `${a.id}|${a.state}|${a.severity}`,
      (batch) => store.insertAlerts(batch),
      async (batch) => batch,
      deps.spools?.alerts,
    ),
  )
  const live$ = merge(
    stored$.pipe(
      mergeMap((batch) => batch),
      aggregate(windows, scheduler),
      tap((changed) => {
        stats.late = windows.late
        live.pushWindows(changed)
      }),
    ),
    shown$.pipe(
      mergeMap((batch) => batch),
      bufferTime(LIVE_POSTS_MS, null, Number.POSITIVE_INFINITY, scheduler),
      filter((posts) => posts.length > 0),
      map((posts) => {
        const { kept, skipped } = newestPerBrand(posts, deps.livePostsPerBrand ?? LIVE_POSTS_PER_BRAND)
        stats.liveSkipped += skipped
        return kept
      }),
      tap((posts) => live.pushPosts(posts)),
    ),
    shown$.pipe(
      mergeMap((batch) => batch),
      route(deps.routes ?? DEFAULT_ROUTES, scheduler),
      tap(({ team, posts }) => live.pushTeamPosts(team, posts)),
    ),
    merge(
      stored$.pipe(mergeMap((batch) => batch.map((post): Measured => ({ kind: 'post', post })))),
      engagement$.pipe(mergeMap((batch) => batch.map((update): Measured => ({ kind: 'engagement', update })))),
    ).pipe(
      measure(tracking, ledger, scheduler),
      tap((metrics) => live.pushMetrics(metrics)),
    ),
  )

  const done = lastValueFrom(merge(engagement$, deletions$, live$, alerts$), { defaultValue: undefined }).then(() => undefined)
  events$.connect()
  return {
    stats,
    queues: () => ({ classify: meter.queued, intakeFiles: deps.intake?.pending() ?? 0, intakeBytes: deps.intake?.bytes() ?? 0 }),
    done,
    async stop() {
      stopping = true
      stop$.next()
      stop$.complete()
      await done
    },
    acknowledge(alertId) {
      if (!acknowledging) return null
      const change = watch.acknowledge(alertId)
      if (!change) return null
      stats.alerts++
      acknowledged$.next(change)
      return change.alert
    },
  }
}

/** The stages past `taken` that dead-letter what they follow, and the key of what they refuse. */
const SETTLED_BY_STAGE: Record<string, (payload: { id?: unknown; postId?: unknown }) => unknown> = {
  classify: (p) => typeof p.id === 'string' && postKey(p.id),
  'store:posts': (p) => typeof p.id === 'string' && postKey(p.id),
  'store:engagement': (p) => typeof p.id === 'string' && engagementKey(p.id),
  'store:post_deletions': (p) => typeof p.postId === 'string' && deletionKey(p.postId),
}

function settleDeadLetters(deadLetter: DeadLetter, progress: Progress): DeadLetter {
  return {
    record(stage, reason, payload) {
      deadLetter.record(stage, reason, payload)
      const key = payload !== null && typeof payload === 'object' ? SETTLED_BY_STAGE[stage]?.(payload) : undefined
      if (typeof key === 'string') progress.settled([key])
    },
    counts: () => deadLetter.counts(),
  }
}
