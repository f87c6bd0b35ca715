// The third stage, in arrival order again: from what the store accepted, the live figures. Minute
// windows, brand metrics, backlash risk, responsiveness and dialogue are computed and pushed to the
// walls; alerts are raised, escalated and resolved, pushed and stored; the walls' tickers and the
// teams' feeds get the posts not deleted. With a bus it runs once (the `live` role), on the
// workers' records put back in the order the events arrived, so its figures are those one process
// would have shown.
import { finalize, map, merge, mergeMap, type Observable, Subject, tap } from 'rxjs'
import type { Live, Policies, Seeds, StageBasics } from '../contract.ts'
import type { AlertChange } from '../metrics/alerting.ts'
import { BacklashWatch } from '../metrics/backlash.ts'
import { MetricsLedger } from '../metrics/ledger.ts'
import type { Alert, AttributedEngagement, ScoredPost } from '../schema.ts'
import type { Spool } from '../sinks/spool.ts'
import { aggregate, stateFrom } from '../transforms/aggregate.ts'
import { assess } from '../transforms/assess.ts'
import { measure, type Measured } from '../transforms/measure.ts'
import { pace } from '../transforms/pace.ts'
import { DEFAULT_ROUTES, route } from '../transforms/route.ts'
import { LIVE_POSTS_PER_BRAND, newestPerBrand } from '../transforms/shortlist.ts'
import { type Accepted, tableSink } from './store-events.ts'

/** New posts go to the walls' tickers as the store accepts them, at most once in this many ms. */
export const LIVE_POSTS_MS = 250

export interface LiveCounts {
  late: number
  alerts: number
  liveSkipped: number
}

export interface LiveStageDeps extends StageBasics, Omit<Seeds, 'recentPosts'>, Policies {
  live: Live
  counts: LiveCounts
  /** Where the live metrics are kept (default: a new one, seeded with `seed`). */
  ledger?: MetricsLedger
  alertSpool?: Spool<Alert>
}

/** Returns everything live as one observable (completes after its inputs, once alerts are stored), and the acknowledgement of alerts. */
export function runLive(
  accepted$: Observable<Accepted>,
  engagement$: Observable<AttributedEngagement[]>,
  deps: LiveStageDeps,
) {
  const { tracking, live, counts, scheduler } = deps
  const windows = stateFrom(deps.initialWindows ?? [])
  const ledger = deps.ledger ?? new MetricsLedger(tracking)
  const watch = new BacklashWatch(tracking, { replyTargetMs: deps.replies?.targetMs })
  if (deps.seed) watch.seed(deps.seed)
  watch.resume(deps.openAlerts ?? [])
  if (deps.conversations) watch.seedConversations(deps.conversations)
  if (deps.seed && !deps.ledger) ledger.seed(deps.seed)

  // The counts (windows, metrics, risk) take every post the store accepted, as its materialized
  // views did, deleted or not; the walls' tickers and the team feeds show only those not deleted.
  const stored$ = accepted$.pipe(map((a) => a.written))
  const shown$ = accepted$.pipe(map((a) => a.shown))

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
        if (a.readings.length > 0) live.push('risk', a.readings)
        if (a.responsiveness.length > 0) live.push('responsiveness', a.responsiveness)
        if (a.dialogue.length > 0) live.push('dialogue', a.dialogue)
        counts.alerts += a.changes.length
      }),
      mergeMap((a) => a.changes),
      finalize(() => {
        acknowledging = false
        acknowledged$.complete()
      }),
    ),
    acknowledged$,
  ).pipe(tap((change) => live.push('alert', change)))
  const alerts$ = alertChanges$.pipe(
    map((change) => change.alert),
    tableSink(
      'alerts',
      (a) => `${a.id}|${a.state}|${a.severity}`,
      (batch) => deps.store.insertAlerts(batch),
      async (batch) => batch,
      {
        deadLetter: deps.deadLetter,
        spool: deps.alertSpool,
        drainOnStopMs: deps.drainOnStopMs,
        scheduler,
      },
    ),
  )
  const live$ = merge(
    stored$.pipe(
      mergeMap((batch) => batch),
      aggregate(windows, scheduler),
      tap((changed) => {
        counts.late = windows.late
        live.push('windows', changed)
      }),
    ),
    shown$.pipe(
      pace<ScoredPost>(LIVE_POSTS_MS, scheduler),
      map((posts) => {
        const { kept, skipped } = newestPerBrand(posts, deps.livePostsPerBrand ?? LIVE_POSTS_PER_BRAND)
        counts.liveSkipped += skipped
        return kept
      }),
      tap((posts) => live.push('posts', posts)),
    ),
    shown$.pipe(
      mergeMap((batch) => batch),
      route(deps.routes ?? DEFAULT_ROUTES, scheduler),
      tap((feed) => live.push('teamPosts', feed)),
    ),
    merge(
      stored$.pipe(mergeMap((batch) => batch.map((post): Measured => ({ kind: 'post', post })))),
      engagement$.pipe(mergeMap((batch) => batch.map((update): Measured => ({ kind: 'engagement', update })))),
    ).pipe(
      measure(tracking, ledger, scheduler),
      tap((metrics) => live.push('metrics', metrics)),
    ),
  )
  return {
    done$: merge(live$, alerts$),
    /**
     * A person has seen the open alert with this id: it is acknowledged, pushed live and stored like
     * any change. Null when no alert with this id is open, or once the alerts have stopped flowing.
     */
    acknowledge(alertId: string): Alert | null {
      if (!acknowledging) return null
      const change = watch.acknowledge(alertId)
      if (!change) return null
      counts.alerts++
      acknowledged$.next(change)
      return change.alert
    },
  }
}
