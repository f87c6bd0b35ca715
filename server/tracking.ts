// Which brands to track: the tracking file (BRANDS_FILE) when there is one, else BRAND and
// COMPETITORS. The simulator's own accounts are the simulated brands' own, whichever names them.
import type { TrackedBrand } from '../pipelines/schema.ts'
import { slug } from '../pipelines/sources/simulator/scenario.ts'
import { type Config, listOf } from './config.ts'
import { readTrackingFile, TrackingFileError, trackingOf } from './tracking-file.ts'

export function trackingFrom(config: Pick<Config, 'BRAND' | 'COMPETITORS'>): TrackedBrand[] {
  const competitors = listOf(config.COMPETITORS)
  const brand: TrackedBrand = {
    name: config.BRAND,
    handles: simulatorAccounts(config.BRAND, true),
    keywords: [config.BRAND],
    competitors,
  }
  const rivals = competitors.map(
    (name): TrackedBrand => ({
      name,
      handles: simulatorAccounts(name, false),
      keywords: [name],
      competitors: [config.BRAND],
    }),
  )
  return [brand, ...rivals]
}

const simulatorAccounts = (name: string, primary: boolean) =>
  primary ? [slug(name), `${slug(name)}support`] : [slug(name)]

/** The tracked brands, as configured; throws a message naming any problem in the tracking file. */
export function loadTracking(
  config: Pick<Config, 'BRAND' | 'COMPETITORS' | 'BRANDS_FILE' | 'SOURCES'>,
): TrackedBrand[] {
  if (!config.BRANDS_FILE) return trackingFrom(config)
  const tracking = trackingOf(readTrackingFile(config.BRANDS_FILE))
  if (!listOf(config.SOURCES).includes('simulator')) return tracking
  const first = tracking[0]!
  if (first.competitors.length !== 2)
    throw new TrackingFileError(config.BRANDS_FILE, [
      `/brands/0/competitors: the simulator writes about the first brand and exactly two of its competitors (got ${first.competitors.length})`,
    ])
  return tracking.map((b, i) => ({
    ...b,
    handles: [...new Set([...b.handles, ...simulatorAccounts(b.name, i === 0)])],
  }))
}
