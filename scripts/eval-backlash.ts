// npm run eval:backlash [-- --model lexicon|DIR] [-- --only NAME] [-- --trace]
// Detection quality of the backlash alerts on simulated days whose incidents are known: sudden and
// slow-burn incidents of several sizes, and quiet days with none (normal daily rhythm; one with a
// harmless viral positive burst). Every post goes through the real match, classify (the bundled
// model by default) and BacklashWatch, in simulated time. Per scenario it prints:
// - when the incident's negative volume first reached 3x the baseline, over 3-minute means and,
//   sustained, over 15-minute means (the target's onset), and how long after each the first alert
//   came (target: within 2 simulated minutes); docs/metrics.md says why the sustained rule;
// - the lead from the scenario's own onset (the first incident post), for reference;
// - how often noise alone reaches 3x, outside any incident, over means of 3 to 15 minutes;
// - false alerts: raised outside an incident (target: at most 1 per simulated quiet day).
// --trace prints the readings, part by part, around each incident and wherever they scored 25 or more.
import { parseArgs } from 'node:util'
import { scoreOne } from '../pipelines/transforms/classify.ts'
import { loadClassifier } from '../models/load.ts'
import { BacklashWatch } from '../pipelines/metrics/backlash.ts'
import type { Post, ScoredPost } from '../pipelines/schema.ts'
import { generate } from '../pipelines/sources/simulator/generate.ts'
import { backlashRate, launchDay, type Scenario } from '../pipelines/sources/simulator/scenario.ts'
import { compileTracking, matchOne } from '../pipelines/transforms/match.ts'
import { trackingFrom } from '../server/tracking.ts'

const { values: args } = parseArgs({
  options: { model: { type: 'string' }, only: { type: 'string' }, trace: { type: 'boolean' } },
})
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
  scenario: {
    ...base,
    ...quiet,
    backlashAt: at,
    backlashPeakPerMinute: peak,
    backlashRampMinutes: ramp,
    backlashHalfLifeMinutes: halfLife,
  },
  duration: at + 3 * HOUR,
  seed,
})
const CASES: Case[] = [
  incident('sudden, small', 4 * HOUR, 8, 1, 30, 11),
  incident('sudden, medium', 10 * HOUR, 20, 1, 40, 12),
  incident('sudden, large', 15 * HOUR, 60, 2, 40, 13),
  incident('slow burn, small', 6 * HOUR, 8, 60, 90, 14),
  incident('slow burn, large', 13 * HOUR, 30, 45, 90, 15),
  {
    name: 'launch day (the default story)',
    scenario: { ...base, launchAt: 2 * HOUR, backlashAt: 2 * HOUR + 20 * 60 },
    duration: 6 * HOUR,
    seed: 16,
  },
  { name: 'quiet day', scenario: { ...base, ...quiet }, duration: 24 * HOUR, seed: 17 },
  {
    name: 'quiet day, another',
    scenario: { ...base, ...quiet, start: '2026-11-24T00:00:00.000Z' },
    duration: 24 * HOUR,
    seed: 18,
  },
  // A viral positive post: mentions jump sevenfold and fade, all of it praise and chatter.
  {
    name: 'quiet day with a viral positive burst',
    scenario: {
      ...base,
      backlashAt: Number.POSITIVE_INFINITY,
      launchAt: 11 * HOUR,
      launchPlateau: 1,
      launchHalfLifeMinutes: 30,
    },
    duration: 24 * HOUR,
    seed: 19,
  },
]

const classifier = await loadClassifier(args.model ?? process.env.SENTIMENT_MODEL)
const matchers = compileTracking(tracking)
const BATCH = 256
const minutes = (s: number) => `${(s / 60).toFixed(1)} min`

async function run(c: Case) {
  const watch = new BacklashWatch(tracking)
  const start = Date.parse(c.scenario.start)
  const alerts: { at: number; severity: string; title: string; raised: boolean }[] = []
  const negativePerMinute = new Map<number, number>()
  // --trace: every Lumen reading from half an hour before the onset to an hour after it, and
  // elsewhere those that scored 25 or more.
  const trace: string[] = []
  let batch: { post: Post; at: number }[] = []
  const flush = async () => {
    const scored = await classifier.classify(batch.map((b) => b.post.text))
    batch.forEach(({ post, at }, i) => {
      const s: ScoredPost = scoreOne(post, scored[i]!, 'en')
      if (s.brands.includes('Lumen') && s.sentiment?.label === 'negative')
        negativePerMinute.set(Math.floor(at / 60), (negativePerMinute.get(Math.floor(at / 60)) ?? 0) + 1)
      // Raised, or escalated to critical (an alert already open when the incident began).
      const assessment = watch.see(s)
      if (args.trace)
        for (const r of assessment.readings) {
          const t = (Date.parse(r.minute) - start) / 1000
          const near = Math.abs(t - c.scenario.backlashAt - 15 * 60) <= 45 * 60
          if (r.brand === 'Lumen' && (near || r.score >= 25))
            trace.push(
              `   ${near ? `onset + ${minutes(t - c.scenario.backlashAt)}` : `at ${minutes(t)}`} ${String(r.score).padStart(5)}  ${r.parts.map((p) => `${p.name} ${p.score.toFixed(2)} (${p.detail})`).join('; ')}`,
            )
        }
      for (const { kind, alert } of assessment.changes) {
        if (alert.brand !== 'Lumen' || alert.state !== 'open') continue
        alerts.push({
          at: kind === 'raised' ? (Date.parse(alert.at) - start) / 1000 : at - (at % 60),
          severity: alert.severity,
          title: alert.title,
          raised: kind === 'raised',
        })
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
  while (
    hasIncident &&
    end < c.duration &&
    (end < onset + c.scenario.backlashRampMinutes * 60 || backlashRate(c.scenario, end) >= 1)
  )
    end += 60
  // Baseline: Lumen's negative mentions per minute over the hour before the onset.
  // When the incident's negative volume reached 3x that, as a mean over 3 minutes (so one unlucky
  // minute of a small baseline is not an incident) and, sustained, over 15 minutes.
  const threeX: Record<number, number | null> = { 3: null, 15: null }
  let baseline = 0
  if (hasIncident) {
    const m0 = Math.floor(onset / 60)
    for (let m = m0 - 60; m < m0; m++) baseline += negativePerMinute.get(m) ?? 0
    baseline /= 60
    for (const w of [3, 15]) {
      for (let m = m0; m * 60 < end; m++) {
        let sum = 0
        for (let i = m - w + 1; i <= m; i++) sum += negativePerMinute.get(i) ?? 0
        if (sum / w >= 3 * Math.max(baseline, 0.2)) {
          threeX[w] = (m + 1) * 60
          break
        }
      }
    }
  }
  const inIncident = (t: number) => hasIncident && t >= onset && t <= end + 30 * 60
  // The same 3x test outside any incident: how often ordinary noise reaches "3x baseline" (episodes
  // at least half an hour apart, from the second hour on, each against the hour before it), for
  // means over several window lengths.
  const chance3x: Record<number, number> = {}
  for (const w of [3, 5, 10, 15]) {
    chance3x[w] = 0
    let last = Number.NEGATIVE_INFINITY
    for (let m = 60 + w; m * 60 < c.duration; m++) {
      if (inIncident(m * 60) || inIncident((m + 1) * 60)) continue
      let sum = 0
      for (let i = m - w + 1; i <= m; i++) sum += negativePerMinute.get(i) ?? 0
      let before = 0
      for (let i = m - w + 1 - 60; i <= m - w; i++) before += negativePerMinute.get(i) ?? 0
      if (sum / w >= 3 * Math.max(before / 60, 0.2) && m - last >= 30) {
        chance3x[w]!++
        last = m
      }
    }
  }
  const first = alerts.find((a) => inIncident(a.at))
  const falseAlerts = alerts.filter((a) => a.raised && !inIncident(a.at))
  if (trace.length) console.log(trace.join('\n'))
  return { c, onset, end, baseline, threeX, first, falseAlerts, alerts, chance3x }
}

console.log(`classifier: ${classifier.name}\n`)
let missed = 0
const slow: Record<string, number> = { 3: 0, 15: 0 }
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
    for (const [w, at] of Object.entries(r.threeX)) {
      if (at === null)
        console.log(`   negative volume never reached 3x baseline over ${w}-minute means (not held to the target)`)
      else
        console.log(
          `   negative volume reached 3x baseline over ${w}-minute means at onset + ${minutes(at - r.onset)}${r.first ? `: alerted ${r.first.at >= at ? `${minutes(r.first.at - at)} after` : `${minutes(at - r.first.at)} before`} it` : ''}`,
        )
    }
    if (!r.first) {
      console.log('   NOT ALERTED')
      if (r.threeX[3] !== null || r.threeX[15] !== null) missed++
    } else {
      console.log(`   alerted (${r.first.severity}) at onset + ${minutes(r.first.at - r.onset)}: ${r.first.title}`)
      for (const [w, at] of Object.entries(r.threeX))
        if (at !== null && r.first.at - at > 120) slow[w] = (slow[w] ?? 0) + 1
    }
  }
  console.log(
    `   outside any incident, negative volume reached 3x baseline by chance: ${Object.entries(r.chance3x)
      .map(([w, n]) => `${n} times over ${w}-minute means`)
      .join(', ')}`,
  )
  console.log(
    `   false alerts: ${r.falseAlerts.length}${r.falseAlerts.map((a) => `\n     at ${minutes(a.at)} (${a.severity}): ${a.title}`).join('')}`,
  )
}
console.log(
  `\nincidents reaching 3x baseline not alerted: ${missed}; alerted later than 2 minutes after 3x over 3-minute means: ${slow[3]}, over 15-minute means: ${slow[15]}`,
)
console.log(`false alerts on the quiet days: ${quietFalse.join(', ')} (target: at most 1 each)`)
console.log(
  `false alerts outside the incidents of the other scenarios: ${otherFalse} in ${otherHours.toFixed(0)} simulated hours (${((otherFalse * 24) / Math.max(otherHours, 1)).toFixed(2)} a day)`,
)
