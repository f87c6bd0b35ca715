// measure: stored posts and engagement into the ledger (metrics/ledger.ts); about once a second
// the windows whose figures changed go out, as full current values, so a wall can apply them in
// any order and a late one never undoes a newer one.
import { asyncScheduler, bufferTime, filter, map, type OperatorFunction, type SchedulerLike } from 'rxjs'
import { MetricsLedger } from '../metrics/ledger.ts'
import type { BrandMetrics, ScoredPost, TrackedBrand, AttributedEngagement } from '../schema.ts'

export const METRICS_MS = 1_000

export type Measured = { kind: 'post'; post: ScoredPost } | { kind: 'engagement'; update: AttributedEngagement }

export function measureOne(ledger: MetricsLedger, event: Measured): void {
  if (event.kind === 'post') ledger.addPost(event.post)
  else ledger.addEngagement(event.update)
}

const keyOf = (m: BrandMetrics) => `${m.brand}\u0000${m.source}\u0000${m.window}`

/** The metrics that differ from what `last` holds (which it then holds). */
export function changedMetrics(ledger: MetricsLedger, last: Map<string, string>): BrandMetrics[] {
  return ledger.metrics().filter((m) => {
    const key = keyOf(m)
    const json = JSON.stringify(m)
    if (last.get(key) === json) return false
    last.set(key, json)
    return true
  })
}

export function measure(
  tracking: readonly TrackedBrand[],
  ledger = new MetricsLedger(tracking),
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<Measured, BrandMetrics[]> {
  const last = new Map<string, string>()
  return (events$) =>
    events$.pipe(
      bufferTime(METRICS_MS, null, Number.POSITIVE_INFINITY, scheduler),
      filter((batch) => batch.length > 0),
      map((batch) => {
        for (const event of batch) measureOne(ledger, event)
        return changedMetrics(ledger, last)
      }),
      filter((changed) => changed.length > 0),
    )
}
