// Which brands to track, from configuration. The connectors issue replaces this with a validated
// tracking file (own accounts per network, keywords, competitors); until then BRAND and
// COMPETITORS name them and the simulator's accounts are the brand's own.
import type { TrackedBrand } from '../pipelines/schema.ts'
import { slug } from '../pipelines/sources/simulator/scenario.ts'
import { type Config, listOf } from './config.ts'

export function trackingFrom(config: Pick<Config, 'BRAND' | 'COMPETITORS'>): TrackedBrand[] {
  const competitors = listOf(config.COMPETITORS)
  const brand: TrackedBrand = {
    name: config.BRAND,
    handles: [slug(config.BRAND), `${slug(config.BRAND)}support`],
    keywords: [config.BRAND],
    competitors,
  }
  const rivals = competitors.map((name): TrackedBrand => ({ name, handles: [slug(name)], keywords: [name], competitors: [config.BRAND] }))
  return [brand, ...rivals]
}
