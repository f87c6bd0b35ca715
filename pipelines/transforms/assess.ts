// assess: stored posts into the backlash watch (metrics/backlash.ts); out come each brand's risk
// readings as event-time minutes end, and the alerts they raise, escalate or resolve.
import { filter, map, type OperatorFunction } from 'rxjs'
import type { Assessment, BacklashWatch } from '../metrics/backlash.ts'
import type { ScoredPost } from '../schema.ts'

export function assess(watch: BacklashWatch): OperatorFunction<ScoredPost, Assessment> {
  return (posts$) =>
    posts$.pipe(
      map((post) => watch.see(post)),
      filter((a) => a.readings.length > 0 || a.changes.length > 0),
    )
}
