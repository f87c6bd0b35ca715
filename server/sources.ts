// Builds the configured sources: the simulator and the webhook today; each connector of the
// connectors issue adds one case here.
import type { Observable } from 'rxjs'
import type { SourceEvent } from '../pipelines/schema.ts'
import { simulatorSource } from '../pipelines/sources/simulator.ts'
import { launchDay } from '../pipelines/sources/simulator/scenario.ts'
import type { WebhookSource } from '../pipelines/sources/webhook.ts'
import { type Config, listOf } from './config.ts'

export function buildSources(config: Config, options: { simulatorStart: string; webhook?: WebhookSource }): Observable<SourceEvent>[] {
  return listOf(config.SOURCES).map((name) => {
    switch (name) {
      case 'simulator': {
        // loadConfig has checked that the simulator gets exactly two competitors.
        const competitors = listOf(config.COMPETITORS) as [string, string]
        const scenario = launchDay({ brand: config.BRAND, competitors, start: options.simulatorStart })
        return simulatorSource({ scenario, seed: config.SIM_SEED, speed: config.SIM_SPEED })
      }
      case 'webhook':
        if (!options.webhook) throw new Error('SOURCES: the webhook source needs the server to feed it')
        return options.webhook.events$
      default:
        throw new Error(`SOURCES: "${name}" has no implementation`)
    }
  })
}
