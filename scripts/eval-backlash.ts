// npm run eval:backlash [-- --model lexicon|DIR] [-- --only NAME]
// Detection quality of the backlash alerts on simulated days whose incidents are known: sudden and
// slow-burn incidents of several sizes, and quiet days with none (normal daily rhythm; one with a
// harmless viral positive burst). Every post goes through the real match, classify (the bundled
// model by default) and BacklashWatch, in simulated time. Per scenario it prints:
// - when the incident's negative volume first reached 3x the baseline (the target's onset), and
//   how long after that the first alert came (target: within 2 simulated minutes);
// - the lead from the scenario's own onset (the first incident post), for reference;
// - false alerts: raised outside an incident (target: at most 1 per simulated quiet day).
import { parseArgs } from 'node:util'
import { detectIntents } from '../models/middle.ts'
import { loadClassifier } from '../models/load.ts'
import { BacklashWatch } from '../pipelines/metrics/backlash.ts'
import type { Post, ScoredPost } from '../pipelines/schema.ts'
import { generate } from '../pipelines/sources/simulator/generate.ts'
import { backlashRate, launchDay, type Scenario } from '../pipelines/sources/simulator/scenario.ts'
import { compileTracking, matchOne } from '../pipelines/transforms/match.ts'
import { trackingFrom } from '../server/tracking.ts'

const { values: args } = parseArgs({ options: { model: { type: 'string' }, only: { type: 'string' } } })
const HOUR = 3600
const tracking = trackingFrom({ BRAND: 'Lumen', COMPETITORS: 'Corvid,Nimbus' })
const base = launchDay({ brand: 'Lumen', competitors: ['Corvid', 'Nimbus'], start: '2026-11-23T00:00:00.000Z' })

interface Case {
  name: string
  scenario: Scenario
  /** Simulated seconds to run. */
  duration: number
  seed: number
}

const quiet: Partial<Scenario> = { launchAt: Number.POSITIVE_INFINITY, backlashAt: Number.POSITIVE_INFINITY }
const incident = (name: string, at: number, peak: number, ramp: number, halfLife: number, seed: number): Case => ({
  name,
  scenario: { ...base, ...quiet, backlashAt: at, backlashPeakPerMinute: peak, backlashRampMinutes: ramp, backlashHalfLifeMinutes: halfLife },
  duration: at + 3 * HOUR,
  seed,
})
const CASES: Case[] = [
  incident('sudden, small', 4 * HOUR, 8, 1, 30, 11),
  incident('sudden, medium', 10 * HOUR, 20, 1, 40, 12),
  incident('sudden, large', 15 * HOUR, 60, 2, 40, 13),
  incident('slow burn, small', 6 * HOUR, 8, 60, 90, 14),
  incident('slow burn, large', 13 * HOUR, 30, 45, 90, 15),
  { name: 'launch day (the default story)', scenario: { ...base, launchAt: 2 * HOUR, backlashAt: 2 * HOUR + 20 * 60 }, duration: 6 * HOUR, seed: 16 },
  { name: 'quiet day', scenario: { ...base, ...quiet }, duration: 24 * HOUR, seed: 17 },
  { name: 'quiet day, another', scenario: { ...base, ...quiet, start: '2026-11-24T00:00:00.000Z' }, duration: 24 * HOUR, seed: 18 },
  // A viral positive post: mentions jump sevenfold and fade, all of it praise and chatter.
  { name: 'quiet day with a viral positive burst', scenario: { ...base, backlashAt: Number.POSITIVE_INFINITY, launchAt: 11 * HOUR, launchPlateau: 1, launchHalfLifeMinutes: 30 }, duration: 24 * HOUR, seed: 19 },
]

const classifier = await loadClassifier(args.model ?? process.env.SENTIMENT_MODEL)
const matchers = compileTracking(tracking)
const BATCH = 256

async function run(c: Case) {
  const watch = new BacklashWatch(tracking)
  const start = Date.parse(c.scenario.start)
  const alerts: { at: number; severity: string; title: string; raised: boolean }[] = []
  const negativePerMinute = new Map<number, number>()
  let batch: { post: Post; at: number }[] = []
  const flush = async () => {
    const scored = await classifier.classify(batch.map((b) => b.post.text))
    batch.forEach(({ post, at }, i) => {
      const s: ScoredPost = { ...post, sentiment: { ...scored[i]!, intents: detectIntents(post.text, scored[i]!.label, post.brands.length >= 2) } }
      if (s.brands.includes('Lumen') && s.sentiment.label === 'negative') negativePerMinute.set(Math.floor(at / 60), (negativePerMinute.get(Math.floor(at / 60)) ?? 0) + 1)
      // Raised, or escalated to critical (an alert already open when the incident began).
      for (const { kind, alert } of watch.see(s).changes) {
        if (alert.brand !== 'Lumen' || alert.state !== 'open') continue
        alerts.push({ at: kind === 'raised' ? (Date.parse(alert.at) - start) / 1000 : at - (at % 60), severity: alert.severity, title: alert.title, raised: kind === 'raised' })
      }
    })
    batch = []
  }
  for (const e of generate(c.scenario, c.seed)) {
    if (e.at >= c.duration) break
    if (e.event.kind !== 'post') continue
    const matched = matchOne(e.event.post, matchers)
    if (!matched) continue
    batch.push({ post: matched, at: e.at })
    if (batch.length >= BATCH) await flush()
  }
  await flush()

  const onset = c.scenario.backlashAt
  const hasIncident = Number.isFinite(onset)
  // The incident lasts while it adds at least one post a minute.
  let end = onset
  while (hasIncident && end < c.duration && (end < onset + c.scenario.backlashRampMinutes * 60 || backlashRate(c.scenario, end) >= 1)) end += 60
  // Baseline: Lumen's negative mentions per minute over the hour before the onset.
  let threeX: number | null = null
  let baseline = 0
  if (hasIncident) {
    const m0 = Math.floor(onset / 60)
    for (let m = m0 - 60; m < m0; m++) baseline += negativePerMinute.get(m) ?? 0
    baseline /= 60
    // Three minutes' mean, so one unlucky minute of a small baseline is not an incident.
    const trailing = (m: number) => ((negativePerMinute.get(m) ?? 0) + (negativePerMinute.get(m - 1) ?? 0) + (negativePerMinute.get(m - 2) ?? 0)) / 3
    for (let m = m0; m * 60 < end; m++) {
      if (trailing(m) >= 3 * Math.max(baseline, 0.2)) {
        threeX = (m + 1) * 60
        break
      }
    }
  }
  const inIncident = (t: number) => hasIncident && t >= onset && t <= end + 30 * 60
  const first = alerts.find((a) => inIncident(a.at))
  const falseAlerts = alerts.filter((a) => a.raised && !inIncident(a.at))
  return { c, onset, end, baseline, threeX, first, falseAlerts, alerts }
}

const minutes = (s: number) => `${(s / 60).toFixed(1)} min`
console.log(`classifier: ${classifier.name}\n`)
let missed = 0
let slow = 0
const quietFalse: number[] = []
let otherFalse = 0
let otherHours = 0
for (const c of CASES) {
  if (args.only && !c.name.includes(args.only)) continue
  const r = await run(c)
  if (Number.isFinite(r.onset)) {
    otherFalse += r.falseAlerts.length
    // The hours outside the incident (and the half hour after it that alerts may still belong to).
    otherHours += (c.duration - Math.min(c.duration, r.end + 30 * 60 - r.onset)) / HOUR
  } else quietFalse.push(r.falseAlerts.length)
  console.log(`== ${c.name} (${(c.duration / HOUR).toFixed(0)} h simulated)`)
  if (Number.isFinite(r.onset)) {
    console.log(`   baseline ${r.baseline.toFixed(2)} negative mentions/min; onset at ${minutes(r.onset)}`)
    if (r.threeX === null) console.log('   negative volume never reached 3x baseline (not held to the target)')
    else console.log(`   negative volume reached 3x baseline at onset + ${minutes(r.threeX - r.onset)}`)
    if (!r.first) {
      console.log('   NOT ALERTED')
      if (r.threeX !== null) missed++
    } else {
      const lead = r.threeX === null ? null : r.first.at - r.threeX
      console.log(`   alerted (${r.first.severity}) at onset + ${minutes(r.first.at - r.onset)}${lead === null ? '' : `, ${minutes(lead)} after 3x baseline`}: ${r.first.title}`)
      if (lead !== null && lead > 120) slow++
    }
  }
  console.log(`   false alerts: ${r.falseAlerts.length}${r.falseAlerts.map((a) => `\n     at ${minutes(a.at)} (${a.severity}): ${a.title}`).join('')}`)
}
console.log(`\nincidents reaching 3x baseline not alerted: ${missed}; alerted later than 2 minutes after it: ${slow}`)
console.log(`false alerts on the quiet days: ${quietFalse.join(', ')} (target: at most 1 each)`)
console.log(`false alerts outside the incidents of the other scenarios: ${otherFalse} in ${otherHours.toFixed(0)} simulated hours (${((otherFalse * 24) / Math.max(otherHours, 1)).toFixed(2)} a day)`)
