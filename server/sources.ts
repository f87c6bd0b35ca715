// Builds the configured sources; each connector adds one case here.
import type { Observable } from 'rxjs'
import type { SourceEvent } from '../pipelines/schema.ts'
import { simulatorSource } from '../pipelines/sources/simulator.ts'
import { launchDay } from '../pipelines/sources/simulator/scenario.ts'
import type { WebhookSource } from '../pipelines/sources/webhook.ts'
import { resolve } from 'node:path'
import type { DeadLetter } from '../pipelines/sinks/deadletter.ts'
import { CursorFile } from '../pipelines/sources/cursor-file.ts'
import { JETSTREAM_V1_URL, type JetstreamCursor, jetstreamSource } from '../pipelines/sources/jetstream.ts'
import { type Config, listOf } from './config.ts'

export function buildSources(config: Config, options: { simulatorStart: string; deadLetter: DeadLetter; webhook?: WebhookSource }): Observable<SourceEvent>[] {
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
      case 'jetstream': {
        const version = config.JETSTREAM_VERSION === '2' ? 2 : 1
        // Each version keeps its own cursor: a v2 sequence number means nothing to v1.
        const cursorFile = new CursorFile<JetstreamCursor>(resolve(config.DATA_DIR, 'cursors', `jetstream-v${version}.json`))
        return jetstreamSource({ url: config.JETSTREAM_URL || JETSTREAM_V1_URL, version, dids: listOf(config.JETSTREAM_DIDS), deadLetter: options.deadLetter, cursorFile })
      }
      default:
        throw new Error(`SOURCES: "${name}" has no implementation`)
    }
  })
}
