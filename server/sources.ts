// Builds the configured sources; each connector adds one case here.
import type { Observable } from 'rxjs'
import type { MastodonCursor } from '../pipelines/sources/mastodon/cursor.ts'
import type { SourceEvent, TrackedBrand } from '../pipelines/schema.ts'
import { simulatorSource } from '../pipelines/sources/simulator.ts'
import { launchDay } from '../pipelines/sources/simulator/scenario.ts'
import type { WebhookSource } from '../pipelines/sources/webhook.ts'
import { resolve } from 'node:path'
import type { DeadLetter } from '../pipelines/sinks/deadletter.ts'
import { CursorFile } from '../pipelines/sources/cursor-file.ts'
import { JournaledCursorFile, rewinding } from '../pipelines/sources/journaled-cursor.ts'
import type { Journal } from '../pipelines/sinks/journal.ts'
import { refuseAbove } from './routes/ingest.ts'
import {
  JETSTREAM_V1_URL,
  type JetstreamCursor,
  jetstreamSource,
  newJetstreamStats,
} from '../pipelines/sources/jetstream.ts'
import { type HackerNewsCursor, hackerNewsSource, newHackerNewsStats } from '../pipelines/sources/hackernews.ts'
import { mastodonSource, newMastodonStats } from '../pipelines/sources/mastodon.ts'
import { type Config, listOf } from './config.ts'

/**
 * `simulatorPreroll`: seconds of the simulated day that happened before `simulatorStart`, replayed
 * at once, with the story (launch, backlash) moved after them: baselines warm on a fresh store.
 */
/** Room a live event needs in the journal (Jetstream's largest message; a tenth of a small journal), else its source pauses. */
const MAX_EVENT_BYTES = 4 * 1024 * 1024

/** A source's counters; `connected` says whether its remote service is reachable now, `since` since when (for /readyz). */
export type SourceStats = { connected: boolean; since: number } & object

export interface BuiltSource {
  name: string
  events$: Observable<SourceEvent>
  /** The live connectors' counters; the simulator and the webhook have none (they are always there). */
  stats?: SourceStats
}

export function buildSources(
  config: Config,
  options: {
    simulatorStart: string
    simulatorPreroll?: number
    deadLetter: DeadLetter
    tracking: readonly TrackedBrand[]
    webhook?: WebhookSource
    intake?: Journal
  },
): BuiltSource[] {
  const { intake } = options
  // With the intake journal, a cursor is saved only once the events before it are on disk, and
  // never across an event the journal did not keep: the source goes back to its saved cursor then,
  // and pauses while the journal is as full as the webhook's refusals (`refuseAbove`).
  const cursorAt = <T extends object>(path: string) =>
    intake ? new JournaledCursorFile<T>(path, intake, () => options.deadLetter.flush()) : new CursorFile<T>(path)
  const room = (share = 1) =>
    !!intake &&
    intake.hasRoom(Math.min(MAX_EVENT_BYTES, intake.maxBytes / 10)) &&
    intake.bytes() <= share * refuseAbove(intake.maxBytes)
  // Back once the journal is half that full: a second of events read again from the cursor fits.
  const resumable = () => room(0.5)
  // Paused, a source is disconnected (its socket closed without its own close handler): /readyz says so.
  const paused = (stats: SourceStats) => () => Object.assign(stats, { connected: false, since: Date.now() })
  const live = <T extends object>(events$: Observable<SourceEvent>, cursorFile: CursorFile<T>, stats: SourceStats) =>
    cursorFile instanceof JournaledCursorFile
      ? rewinding(events$, cursorFile, () => room(), { onPause: paused(stats), resumable })
      : events$
  return listOf(config.SOURCES).map((name): BuiltSource => {
    switch (name) {
      case 'simulator': {
        // The first tracked brand and its two competitors (loadConfig, or loadTracking for a
        // tracking file, has checked there are two).
        const [brand] = options.tracking
        const preroll = options.simulatorPreroll ?? 0
        const day = launchDay({
          brand: brand!.name,
          competitors: brand!.competitors.slice(0, 2) as [string, string],
          start: new Date(Date.parse(options.simulatorStart) - preroll * 1000).toISOString(),
        })
        const scenario = { ...day, launchAt: day.launchAt + preroll, backlashAt: day.backlashAt + preroll }
        return {
          name,
          events$: simulatorSource({ scenario, seed: config.SIM_SEED, speed: config.SIM_SPEED, ahead: preroll }),
        }
      }
      case 'webhook':
        if (!options.webhook) throw new Error('SOURCES: the webhook source needs the server to feed it')
        return { name, events$: options.webhook.events$ }
      case 'jetstream': {
        const version = config.JETSTREAM_VERSION === '2' ? 2 : 1
        // One cursor for both versions and every instance: it is a time, which they all read alike.
        const cursorFile = cursorAt<JetstreamCursor>(resolve(config.DATA_DIR, 'cursors', 'jetstream.json'))
        const stats = newJetstreamStats()
        return {
          name,
          stats,
          events$: live(
            jetstreamSource({
              url: config.JETSTREAM_URL || JETSTREAM_V1_URL,
              version,
              dids: listOf(config.JETSTREAM_DIDS),
              deadLetter: options.deadLetter,
              cursorFile,
              overlapMs: config.JETSTREAM_OVERLAP_MS,
              stats,
            }),
            cursorFile,
            stats,
          ),
        }
      }
      case 'mastodon': {
        const host = new URL(config.MASTODON_URL).host
        const cursorFile = cursorAt<MastodonCursor>(
          resolve(
            config.DATA_DIR,
            'cursors',
            `mastodon-${host}-${config.MASTODON_STREAM.replace(/[^\p{L}\p{N}_-]/gu, '_')}.json`,
          ),
        )
        const stats = newMastodonStats()
        return {
          name,
          stats,
          events$: live(
            mastodonSource({
              url: config.MASTODON_URL,
              token: config.MASTODON_TOKEN,
              stream: config.MASTODON_STREAM,
              deadLetter: options.deadLetter,
              cursorFile,
              stats,
            }),
            cursorFile,
            stats,
          ),
        }
      }
      case 'hackernews': {
        const cursorFile = cursorAt<HackerNewsCursor>(resolve(config.DATA_DIR, 'cursors', 'hackernews.json'))
        const stats = newHackerNewsStats()
        return {
          name,
          stats,
          events$: live(
            hackerNewsSource({ url: config.HN_API_URL, deadLetter: options.deadLetter, cursorFile, stats }),
            cursorFile,
            stats,
          ),
        }
      }
      default:
        throw new Error(`SOURCES: "${name}" has no implementation`)
    }
  })
}
