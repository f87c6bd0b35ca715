import type { Alert, TrackedBrand } from '../../pipelines/schema.ts'
import type { Store } from '../../pipelines/store/store.ts'

/**
 * Alerts left open by the last run go on in the pipeline, and are on the wall's banner from the
 * first snapshot: the newest one of each brand still tracked (the one the pipeline follows).
 */
export async function openAlertsOf(store: Store, tracking: readonly TrackedBrand[]): Promise<Alert[]> {
  const unresolved = [
    ...(await store.alerts({ state: 'open', limit: 1_000 })),
    ...(await store.alerts({ state: 'acknowledged', limit: 1_000 })),
  ]
  return unresolved
    .filter((a) => tracking.some((b) => b.name === a.brand))
    .sort((a, b) => b.at.localeCompare(a.at))
    .filter((a, i, all) => all.findIndex((other) => other.brand === a.brand) === i)
}
