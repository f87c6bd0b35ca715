// Shared fixtures: the launch-day scenario at a fixed start, the tracking that goes with it, and
// helpers that run the real pipeline with a recording live sink.
import type { Live } from '../../pipelines/contract.ts'
import type { FeedName, FeedValues } from '../../pipelines/live-feeds.ts'
import { from, type Observable } from 'rxjs'
import type { Classifier } from '../../models/classifier.ts'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { startPipeline } from '../../pipelines/pipeline.ts'
import type { AlertChange } from '../../pipelines/metrics/alerting.ts'
import type {
  BrandMetrics,
  Dialogue,
  Post,
  Responsiveness,
  RiskReading,
  ScoredPost,
  SourceEvent,
  WindowAggregate,
} from '../../pipelines/schema.ts'
import { MemoryDeadLetter } from '../../pipelines/sinks/deadletter.ts'
import { generate, type TimedEvent } from '../../pipelines/sources/simulator/generate.ts'
import { launchDay } from '../../pipelines/sources/simulator/scenario.ts'
import type { Store } from '../../pipelines/store/store.ts'
import { trackingFrom } from '../../server/tracking.ts'

export { MemoryDeadLetter }

export const START = '2026-11-23T09:00:00.000Z'
export const SEED = 7
export const scenario = launchDay({ brand: 'Lumen', competitors: ['Corvid', 'Nimbus'], start: START })
export const tracking = trackingFrom({ BRAND: 'Lumen', COMPETITORS: 'Corvid,Nimbus' })

/** The simulator's events up to `until` simulated seconds, straight from the generator. */
export function simulated(until: number, seed = SEED): TimedEvent[] {
  const events: TimedEvent[] = []
  for (const e of generate(scenario, seed)) {
    if (e.at >= until) break
    events.push(e)
  }
  return events
}

export function postsOf(events: readonly TimedEvent[]): Post[] {
  return events.flatMap((e) => (e.event.kind === 'post' ? [e.event.post] : []))
}

/** Records what the pipeline pushes live, keeping the latest value of every window. */
export class RecordingLive implements Live {
  push<F extends FeedName>(feed: F, value: FeedValues[F]): void {
    const take: { [K in FeedName]: (v: FeedValues[K]) => void } = {
      windows: (v) => this.pushWindows(v),
      posts: (v) => this.pushPosts(v),
      metrics: (v) => this.pushMetrics(v),
      risk: (v) => this.pushRisk(v),
      responsiveness: (v) => this.pushResponsiveness(v),
      dialogue: (v) => this.pushDialogue(v),
      alert: (v) => this.pushAlert(v),
      teamPosts: (v) => this.pushTeamPosts(v.team, v.posts),
    }
    ;(take[feed] as (v: FeedValues[F]) => void)(value)
  }
  readonly windows = new Map<string, WindowAggregate>()
  readonly posts: ScoredPost[] = []
  deltas = 0
  pushWindows(windows: WindowAggregate[]) {
    this.deltas++
    for (const w of windows) this.windows.set(`${w.brand}|${w.minute}`, w)
  }
  pushPosts(posts: ScoredPost[]) {
    this.posts.push(...posts)
  }
  /** The latest figures of every brand x source x window. */
  readonly metrics = new Map<string, BrandMetrics>()
  readonly risk: RiskReading[] = []
  readonly alerts: AlertChange[] = []
  pushRisk(readings: RiskReading[]) {
    this.risk.push(...readings)
  }
  pushAlert(change: AlertChange) {
    this.alerts.push(change)
  }
  readonly teams = new Map<string, ScoredPost[]>()
  pushTeamPosts(team: string, posts: ScoredPost[]) {
    this.teams.set(team, [...(this.teams.get(team) ?? []), ...posts])
  }
  readonly dialogue = new Map<string, Dialogue>()
  pushDialogue(brands: Dialogue[]) {
    for (const d of brands) this.dialogue.set(d.brand, d)
  }
  readonly responsiveness = new Map<string, Responsiveness>()
  pushResponsiveness(brands: Responsiveness[]) {
    for (const r of brands) this.responsiveness.set(r.brand, r)
  }
  pushMetrics(metrics: BrandMetrics[]) {
    for (const m of metrics) this.metrics.set(`${m.brand}|${m.source}|${m.window}`, m)
  }
}

/** The real pipeline into `store`, with the lexicon unless another classifier is given. */
export async function runThrough(
  store: Store,
  source: Observable<SourceEvent>,
  classifier: Classifier = new LexiconClassifier(),
) {
  const live = new RecordingLive()
  const deadLetter = new MemoryDeadLetter()
  // Every stored post is pushed live, so that tests can hold what was pushed against what was stored.
  const pipeline = startPipeline({
    sources: [source],
    classifier,
    tracking,
    store,
    live,
    deadLetter,
    livePostsPerBrand: Number.POSITIVE_INFINITY,
  })
  await pipeline.done
  return { live, deadLetter, stats: pipeline.stats }
}

export const sourceOf = (events: readonly TimedEvent[]) => from(events.map((e) => e.event))

export const byMinute = (windows: Iterable<WindowAggregate>) =>
  [...windows].sort((a, b) => a.minute.localeCompare(b.minute) || a.brand.localeCompare(b.brand))

/** The real lexicon classifier, except that its first batch fails with `message`. */
export function failingFirstBatch(message: string): Classifier {
  const lexicon = new LexiconClassifier()
  let calls = 0
  return {
    name: 'flaky',
    async classify(texts) {
      if (++calls === 1) throw new Error(message)
      return lexicon.classify(texts)
    },
  }
}
