// npm run bench:metrics [-- --posts 240000 --rate 2000 --rounds 5]
// CPU cost of the metrics path at a given post rate: every stored post into the metrics ledger and
// the backlash watch, engagement updates into the ledger, and once a simulated second the windows
// read and compared (as measure does before pushing). The posts are the simulator's launch day,
// matched and scored with the lexicon beforehand (not measured), then retimed to --rate posts per
// second of event time, so minutes fill as they would at that rate. Reported as a share of one core
// (target: under 5% at 2,000 posts/s), against a baseline measured in the same rounds: turning each
// post into JSON once, which the live push to the walls does anyway. The ledger starts with a day of
// history, as on a server that has run for a day.
import { parseArgs } from 'node:util'
import { from, lastValueFrom, toArray } from 'rxjs'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { BacklashWatch } from '../../pipelines/metrics/backlash.ts'
import { MetricsLedger } from '../../pipelines/metrics/ledger.ts'
import type { ScoredPost, AttributedEngagement } from '../../pipelines/schema.ts'
import { MemoryDeadLetter } from '../../pipelines/sinks/deadletter.ts'
import { generate } from '../../pipelines/sources/simulator/generate.ts'
import { launchDay } from '../../pipelines/sources/simulator/scenario.ts'
import { classify } from '../../pipelines/transforms/classify.ts'
import { match } from '../../pipelines/transforms/match.ts'
import { changedMetrics } from '../../pipelines/transforms/measure.ts'
import { trackingFrom } from '../../server/tracking.ts'
import { fmt, median } from './stats.ts'

const { values: args } = parseArgs({
  options: {
    posts: { type: 'string', default: '240000' },
    rate: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '5' },
  },
})
const POSTS = Number(args.posts)
const RATE = Number(args.rate)
const ROUNDS = Number(args.rounds)

const tracking = trackingFrom({ BRAND: 'Lumen', COMPETITORS: 'Corvid,Nimbus' })
const scenario = launchDay({ brand: 'Lumen', competitors: ['Corvid', 'Nimbus'], start: '2026-11-23T09:00:00.000Z' })
const raw = []
let updates = 0
for (const e of generate(scenario, 5)) {
  if (e.event.kind === 'post') raw.push(e.event.post)
  else if (e.event.kind === 'engagement') updates++
  if (raw.length >= POSTS) break
}
const matched = await lastValueFrom(
  from(raw).pipe(match(tracking), classify(new LexiconClassifier(), new MemoryDeadLetter()), toArray()),
)
const T0 = Date.parse(scenario.start)
// Retimed: post i at i / RATE seconds; an engagement update on every third post, a minute later.
const posts: ScoredPost[] = matched.map((p, i) => ({ ...p, createdAt: new Date(T0 + (i * 1000) / RATE).toISOString() }))
const engagement: AttributedEngagement[] = posts.flatMap((p, i) =>
  i % 3 === 0
    ? [
        {
          id: `${p.id}:like`,
          postId: p.id,
          at: new Date(Date.parse(p.createdAt) + 60_000).toISOString(),
          delta: { likes: 2, reposts: 1, replies: 0, quotes: 0 },
          source: p.source,
          brands: p.brands,
        },
      ]
    : [],
)
const seconds = posts.length / RATE
console.log(
  `${fmt(posts.length, 0)} tracked posts and ${fmt(engagement.length, 0)} engagement updates at ${fmt(RATE, 0)} posts/s: ${fmt(seconds / 60, 1)} minutes of event time (the generator made ${fmt(updates, 0)} updates of its own, not used)\n`,
)

const cpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

// The day before, ten posts a minute: a running server's ledger holds 1,440 minutes, and every
// read of the 24-hour window sums them all. Fed before the clock starts.
const dayBefore: ScoredPost[] = Array.from({ length: 1440 * 10 }, (_, i) => ({
  ...posts[i % posts.length]!,
  id: `before:${i}`,
  createdAt: new Date(T0 - 86_400_000 + i * 6_000).toISOString(),
}))

function metricsRound(): number {
  const ledger = new MetricsLedger(tracking)
  const watch = new BacklashWatch(tracking)
  const last = new Map<string, string>()
  for (const post of dayBefore) {
    ledger.addPost(post)
    watch.see(post)
  }
  changedMetrics(ledger, last)
  let e = 0
  const start = cpu()
  for (let i = 0; i < posts.length; i++) {
    const post = posts[i]!
    ledger.addPost(post)
    while (e < engagement.length && engagement[e]!.at <= post.createdAt) ledger.addEngagement(engagement[e++]!)
    watch.see(post)
    if ((i + 1) % RATE === 0) changedMetrics(ledger, last)
  }
  return cpu() - start
}

function baselineRound(): number {
  const start = cpu()
  let bytes = 0
  for (const post of posts) bytes += JSON.stringify(post).length
  if (bytes === 0) throw new Error('nothing serialised')
  return cpu() - start
}

const metricsCpu: number[] = []
const baselineCpu: number[] = []
for (let r = 0; r < ROUNDS; r++) {
  baselineCpu.push(baselineRound())
  metricsCpu.push(metricsRound())
}
const m = median(metricsCpu)
const b = median(baselineCpu)
console.log(
  `metrics path: ${fmt(m, 2)} s of CPU for ${fmt(seconds, 0)} s of stream: ${fmt((100 * m) / seconds, 2)}% of one core (target under 5%), ${fmt(posts.length / m / 1000, 0)}k posts/s on one core`,
)
console.log(`baseline (each post to JSON once): ${fmt(b, 2)} s: ${fmt((100 * b) / seconds, 2)}% of one core`)
console.log(`ratio metrics / baseline: ${fmt(m / b, 2)} (medians of ${ROUNDS} rounds)`)
