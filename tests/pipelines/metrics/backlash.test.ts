// Backlash risk on hand-built minutes whose answers are known, the alert lifecycle (raise,
// escalate, cool down, resolve), the rising terms and examples an alert carries, and the reply
// queue behind the overdue part. Detection quality on whole simulated days is npm run eval:backlash.
import { describe, expect, it } from 'vitest'
import { LEVELS, RISK_WEIGHTS } from '../../../pipelines/vocabulary.ts'
import {
  type AlertChange,
  AlertLifecycle,
  CALM_MINUTES,
  COOLDOWN_MINUTES,
} from '../../../pipelines/metrics/alerting.ts'
import { BacklashWatch, GRACE_MS } from '../../../pipelines/metrics/backlash.ts'
import { needsReplyFrom, REPLY_TARGET_MS, ReplyQueue, replyRules } from '../../../pipelines/metrics/replies.ts'
import {
  Baseline,
  binomialZ,
  emptyTally,
  type MinuteTally,
  poissonZ,
  WARMUP_MINUTES,
} from '../../../pipelines/metrics/risk.ts'
import { TermTally, termsOf } from '../../../pipelines/metrics/terms.ts'
import { DialogueLedger } from '../../../pipelines/metrics/dialogue.ts'
import { linkThread, RecentPosts } from '../../../pipelines/transforms/relate.ts'
import { emptyCounts } from '../../../pipelines/metrics/definition.ts'
import type { Intent, Label, RiskReading, ScoredPost } from '../../../pipelines/schema.ts'
import { tracking } from '../../support/fixtures.ts'

const T0 = Date.parse('2026-11-23T10:00:00.000Z')
const MINUTE = 60_000
const tally = (t: Partial<MinuteTally>): MinuteTally => ({ ...emptyTally(), ...t })

/** A baseline that has seen `minutes` ordinary minutes: 20 mentions, 2 negative. */
function trained(minutes = 60) {
  const b = new Baseline()
  for (let i = 0; i < minutes; i++)
    b.learn(tally({ posts: 20 - (i % 3), negative: 2, reach: 2000, negativeReach: 200 }))
  return b
}
const part = (r: RiskReading, name: string) => r.parts.find((p) => p.name === name)!

describe('risk score', () => {
  it('reads an ordinary minute as no risk', () => {
    const r = trained().read('Lumen', T0, tally({ posts: 19, negative: 2, reach: 1900, negativeReach: 190 }))
    expect(r.score).toBe(0)
    expect(r.warming).toBe(false)
  })

  it('gives a volume spike of praise at most the spike part: below the warning level', () => {
    const r = trained().read('Lumen', T0, tally({ posts: 140, negative: 3, reach: 14_000, negativeReach: 300 }))
    expect(part(r, 'spike').score).toBe(1)
    expect(part(r, 'negativeShare').score).toBe(0)
    expect(r.score).toBe(100 * RISK_WEIGHTS.spike)
    expect(r.score).toBeLessThan(LEVELS.warning)
  })

  it('scores a burst of negative mentions on every part it moves, with the evidence in words', () => {
    const r = trained().read('Lumen', T0, tally({ posts: 60, negative: 40, reach: 6000, negativeReach: 5000 }))
    expect(part(r, 'spike').score).toBe(1)
    expect(part(r, 'negativeShare').score).toBe(1)
    expect(part(r, 'negativeShare').value).toBe(0.667)
    // The baseline saw 20, 19 and 18 mentions a minute, two of them negative: 2 in 19.
    expect(part(r, 'negativeShare').expected).toBe(0.105)
    expect(part(r, 'negativeShare').detail).toMatch(/^67% negative of 60 mentions against 11% usually \(z = \d+/)
    expect(part(r, 'reachNegativity').score).toBeGreaterThan(0.5)
    expect(r.score).toBeGreaterThanOrEqual(LEVELS.critical)
  })

  it('holds small counts to their exact tests: a chance cluster reads weaker than the normal approximation says', () => {
    // Exact tails, worked independently: P(X >= 6) for a Poisson mean of 1.1 is 0.000968, the
    // upper tail of z = 3.10; P(X >= 5) of 7 posts at 10% is 0.0001765, z = 3.57.
    expect(poissonZ(6, 1.1)).toBeCloseTo(3.1, 2)
    expect(binomialZ(5, 7, 0.1)).toBeCloseTo(3.573, 2)
    // Five negative of seven posts where 10.5% is usual: the two-proportion z alone says 5.2.
    const r = trained().read('Lumen', T0, tally({ posts: 7, negative: 5 }))
    const z = Number(/z = ([\d.]+)/.exec(part(r, 'negativeShare').detail)![1])
    expect(z).toBeCloseTo(binomialZ(5, 7, 2 / 19), 1)
    expect(z).toBeLessThan(4)
  })

  it('reads each window against the baseline from before the window began, so a slow rise cannot teach it its own minutes', () => {
    const b = trained(120)
    const rising = (i: number) => tally({ posts: 20, negative: 2 + Math.floor(i / 3), reach: 2000, negativeReach: 200 })
    for (let i = 0; i < 14; i++)
      b.learn(rising(i), b.read('Lumen', T0 + i * MINUTE, rising(i)).score >= LEVELS.warning ? 0.1 : 1)
    const r = b.read('Lumen', T0 + 14 * MINUTE, rising(14))
    // The 15-minute window (300 mentions, 60 negative) is the strongest evidence, and it is tested
    // against the 2-in-19 share from before the rise, not the share the rise has since taught.
    expect(part(r, 'negativeShare').detail).toMatch(/^20% negative of 300 mentions against 11% usually/)
    expect(part(r, 'negativeShare').expected).toBe(0.105)
  })

  it('starts its baseline as a plain mean, not leaning on its first minute', () => {
    const b = new Baseline()
    for (const posts of [10, 20, 30]) b.learn(tally({ posts }))
    expect(part(b.read('Lumen', T0, tally({ posts: 20 })), 'spike').detail).toMatch(/^20 mentions against 20 expected/)
  })

  it('does not test a share on fewer than five negative posts', () => {
    const r = trained().read('Lumen', T0, tally({ posts: 4, negative: 4 }))
    expect(part(r, 'negativeShare').score).toBe(0)
  })

  it('counts overdue replies only above how many usually go unanswered', () => {
    const b = new Baseline()
    for (let i = 0; i < 60; i++) b.learn(tally({ posts: 20, negative: 2, overdue: 4 }))
    expect(part(b.read('Lumen', T0, tally({ posts: 20, negative: 2, overdue: 5 })), 'overdue').score).toBe(0)
    expect(part(b.read('Lumen', T0, tally({ posts: 20, negative: 2, overdue: 30 })), 'overdue').score).toBe(1)
  })

  it('is warming until the baseline has seen enough minutes', () => {
    expect(trained(WARMUP_MINUTES - 1).read('Lumen', T0, tally({ posts: 20 })).warming).toBe(true)
    expect(trained(WARMUP_MINUTES).read('Lumen', T0, tally({ posts: 20 })).warming).toBe(false)
  })
})

describe('alert lifecycle', () => {
  const reading = (minute: number, score: number, warming = false): RiskReading => ({
    brand: 'Lumen',
    minute: new Date(T0 + minute * MINUTE).toISOString(),
    score,
    parts: [],
    warming,
  })
  const evidence = () => ({ terms: ['battery drain'], examplePostIds: ['simulator:1'] })

  it('raises, escalates, resolves after calm minutes, and cools down before the next warning', () => {
    const life = new AlertLifecycle('Lumen')
    expect(life.step(reading(0, 30), evidence)).toBeNull()
    const raised = life.step(reading(1, 45), evidence)!
    expect(raised).toMatchObject({
      kind: 'raised',
      alert: { id: `Lumen:${reading(1, 0).minute}`, severity: 'warning', state: 'open', at: reading(2, 0).minute },
    })
    expect(raised.alert.title).toBe('Possible backlash about "battery drain": risk 45 for Lumen')
    expect(raised.alert.why).toMatchObject({ terms: ['battery drain'], examplePostIds: ['simulator:1'], score: 45 })
    expect(life.step(reading(2, 50), evidence)).toBeNull()
    const escalated = life.step(reading(3, 80), evidence)!
    expect(escalated).toMatchObject({
      kind: 'updated',
      alert: { id: raised.alert.id, severity: 'critical', state: 'open', at: raised.alert.at },
    })
    // Hysteresis: below the warning level but not by HYSTERESIS does not count as calm.
    for (let m = 4; m < 14; m++) expect(life.step(reading(m, LEVELS.warning - 5), evidence)).toBeNull()
    for (let m = 14; m < 14 + CALM_MINUTES - 1; m++) expect(life.step(reading(m, 10), evidence)).toBeNull()
    const resolved = life.step(reading(14 + CALM_MINUTES - 1, 10), evidence)!
    expect(resolved).toMatchObject({
      kind: 'updated',
      alert: { id: raised.alert.id, state: 'resolved', severity: 'critical' },
    })
    // Cooldown: a warning soon after is held back; a critical level is not.
    const after = 14 + CALM_MINUTES
    expect(life.step(reading(after, 45), evidence)).toBeNull()
    expect(life.step(reading(after + 1, 70), evidence)).toMatchObject({
      kind: 'raised',
      alert: { severity: 'critical' },
    })
  })

  it('goes on with an alert left open by the last run, and resolves it', () => {
    const life = new AlertLifecycle('Lumen')
    const open = {
      id: 'Lumen:earlier',
      brand: 'Lumen',
      at: reading(-30, 0).minute,
      severity: 'warning' as const,
      state: 'open' as const,
      title: 't',
      why: { summary: '', terms: [], examplePostIds: [] },
    }
    life.resume(open)
    expect(life.step(reading(0, 70), evidence)).toMatchObject({
      kind: 'updated',
      alert: { id: 'Lumen:earlier', severity: 'critical' },
    })
    for (let m = 1; m < CALM_MINUTES; m++) expect(life.step(reading(m, 0), evidence)).toBeNull()
    expect(life.step(reading(CALM_MINUTES, 0), evidence)).toMatchObject({
      kind: 'updated',
      alert: { id: 'Lumen:earlier', state: 'resolved' },
    })
  })

  it('is acknowledged once while open, then still escalates and resolves', () => {
    const life = new AlertLifecycle('Lumen')
    expect(life.acknowledge('Lumen:none')).toBeNull()
    const raised = life.step(reading(0, 45), evidence)!.alert
    expect(life.acknowledge('Lumen:other')).toBeNull()
    expect(life.acknowledge(raised.id)).toEqual({
      kind: 'updated',
      alert: { ...raised, state: 'acknowledged' },
      acknowledged: true,
    })
    expect(life.acknowledge(raised.id)).toBeNull()
    const escalated = life.step(reading(1, 80), evidence)!
    expect(escalated).toMatchObject({
      kind: 'updated',
      alert: { id: raised.id, severity: 'critical', state: 'acknowledged' },
    })
    expect(escalated.acknowledged).toBeUndefined()
    for (let m = 2; m < 1 + CALM_MINUTES; m++) expect(life.step(reading(m, 0), evidence)).toBeNull()
    expect(life.step(reading(1 + CALM_MINUTES, 0), evidence)).toMatchObject({
      kind: 'updated',
      alert: { id: raised.id, state: 'resolved', severity: 'critical' },
    })
    expect(life.acknowledge(raised.id)).toBeNull()
  })

  it('goes on with an alert acknowledged in the last run, still acknowledged', () => {
    const life = new AlertLifecycle('Lumen')
    const acknowledged = {
      id: 'Lumen:earlier',
      brand: 'Lumen',
      at: reading(-30, 0).minute,
      severity: 'critical' as const,
      state: 'acknowledged' as const,
      title: 't',
      why: { summary: '', terms: [], examplePostIds: [] },
    }
    life.resume(acknowledged)
    expect(life.acknowledge(acknowledged.id)).toBeNull()
    for (let m = 0; m < CALM_MINUTES - 1; m++) expect(life.step(reading(m, 0), evidence)).toBeNull()
    expect(life.step(reading(CALM_MINUTES - 1, 0), evidence)).toMatchObject({
      alert: { id: acknowledged.id, state: 'resolved' },
    })
  })

  it('raises a warning again once the cooldown has passed, and never while warming', () => {
    const life = new AlertLifecycle('Lumen')
    expect(life.step(reading(0, 90, true), evidence)).toBeNull()
    life.step(reading(1, 45), evidence)
    for (let m = 2; m < 2 + CALM_MINUTES; m++) life.step(reading(m, 0), evidence)
    const resolvedAt = 2 + CALM_MINUTES
    expect(life.step(reading(resolvedAt + COOLDOWN_MINUTES - 2, 45), evidence)).toBeNull()
    expect(life.step(reading(resolvedAt + COOLDOWN_MINUTES, 45), evidence)).toMatchObject({ kind: 'raised' })
  })
})

let n = 0
function post(
  at: number,
  o: {
    label?: Label
    text?: string
    followers?: number
    intents?: Intent[]
    replyTo?: string
    ownBrand?: string
    brands?: string[]
  } = {},
): ScoredPost {
  const label = o.label ?? 'positive'
  return {
    id: `simulator:${++n}`,
    source: 'simulator',
    url: '',
    author: { id: `a${n}`, handle: `a${n}`, displayName: '', followers: o.followers ?? 10 },
    text: o.text ?? 'Lumen is fine',
    lang: 'en',
    language: 'en',
    createdAt: new Date(at).toISOString(),
    engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
    brands: o.brands ?? (o.ownBrand ? [] : ['Lumen']),
    terms: [],
    ...(o.replyTo ? { replyTo: o.replyTo } : {}),
    ...(o.ownBrand ? { ownBrand: o.ownBrand } : {}),
    sentiment: {
      label,
      scores: { negative: 0, neutral: 0, positive: 0, [label]: 1 },
      confidence: 1,
      mixed: false,
      uncertain: false,
      intents: o.intents ?? [],
      emotions: [],
    },
  }
}

describe('backlash watch', () => {
  it('reads each minute once it is over, alerts on a burst with its terms and loudest examples, and resolves', () => {
    const watch = new BacklashWatch(tracking)
    const changes: AlertChange[] = []
    const readings: RiskReading[] = []
    const feed = (p: ScoredPost) => {
      const a = watch.see(p)
      readings.push(...a.readings.filter((r) => r.brand === 'Lumen'))
      changes.push(...a.changes)
    }
    // An hour of ordinary chatter: ten mentions a minute, one negative.
    for (let m = 0; m < 60; m++)
      for (let i = 0; i < 10; i++)
        feed(
          post(T0 + m * MINUTE + i * 5000, {
            label: i === 0 ? 'negative' : 'positive',
            text: `Lumen is fine number ${i}`,
          }),
        )
    expect(changes).toEqual([])
    expect(readings.at(-1)).toMatchObject({ warming: false, score: 0 })
    // A minute's burst: forty complaints about the battery, one from a big account.
    const burst = T0 + 60 * MINUTE
    for (let i = 0; i < 40; i++)
      feed(
        post(burst + i * 1000, {
          label: 'negative',
          text: `Lumen battery drain again ${i % 2 ? 'ugh' : 'seriously'}`,
          followers: i === 7 ? 50_000 : 100,
        }),
      )
    // The minute is read once event time is GRACE_MS past its end.
    feed(post(burst + MINUTE + GRACE_MS - 1))
    expect(changes).toEqual([])
    feed(post(burst + MINUTE + GRACE_MS))
    expect(changes).toHaveLength(1)
    const { alert } = changes[0]!
    expect(alert.severity).toBe('critical')
    expect(alert.why.terms.slice(0, 1)).toEqual(['battery drain'])
    expect(alert.why.examplePostIds[0]).toBe(`simulator:${n - 2 - 40 + 8}`)
    expect(alert.title).toContain('"battery drain"')
    // Acknowledged through the watch, which finds the brand's alert; other ids acknowledge nothing.
    expect(watch.acknowledge('Corvid:nothing')).toBeNull()
    expect(watch.acknowledge(alert.id)).toEqual({
      kind: 'updated',
      alert: { ...alert, state: 'acknowledged' },
      acknowledged: true,
    })
    expect(watch.acknowledge(alert.id)).toBeNull()
    // Quiet again: the alert resolves after the calm minutes (empty minutes are read too).
    feed(post(burst + 30 * MINUTE))
    expect(changes.at(-1)).toMatchObject({ kind: 'updated', alert: { id: alert.id, state: 'resolved' } })
  })

  it('leaves unscored posts (a language not read) out of the score, live and when it resumes from stored minutes', () => {
    const unscored = (p: ScoredPost): ScoredPost => {
      const { sentiment: _, ...rest } = p
      return { ...rest, id: `${p.id}-de`, language: 'de' }
    }
    const run = (withUnscored: boolean) => {
      const watch = new BacklashWatch(tracking)
      const scores: number[] = []
      const feed = (p: ScoredPost) => {
        scores.push(
          ...watch
            .see(p)
            .readings.filter((r) => r.brand === 'Lumen')
            .map((r) => r.score),
        )
        // Each post followed by two in another language: were they counted, every share would thin.
        if (withUnscored)
          for (let k = 0; k < 2; k++)
            scores.push(
              ...watch
                .see(unscored(p))
                .readings.filter((r) => r.brand === 'Lumen')
                .map((r) => r.score),
            )
      }
      for (let m = 0; m < 60; m++)
        for (let i = 0; i < 10; i++)
          feed(post(T0 + m * MINUTE + i * 5000, { label: i === 0 ? 'negative' : 'positive' }))
      for (let i = 0; i < 25; i++)
        feed(post(T0 + 60 * MINUTE + i * 1000, { label: 'negative', text: 'Lumen battery drain' }))
      feed(post(T0 + 61 * MINUTE + GRACE_MS))
      return scores
    }
    const scored = run(false)
    expect(Math.max(...scored)).toBeGreaterThanOrEqual(LEVELS.warning)
    expect(run(true)).toEqual(scored)

    // Stored minutes count unscored posts in `posts` and in `unscored`: the seeded baseline is the same.
    const counts = (posts: number, negative: number, unscoredPosts: number) => ({
      ...emptyCounts(),
      posts: posts + unscoredPosts,
      negative,
      positive: posts - negative,
      unscored: unscoredPosts,
    })
    const seeded = (unscoredPosts: number) => {
      const watch = new BacklashWatch(tracking)
      watch.seed({
        minutes: Array.from({ length: 90 }, (_, m) => ({
          brand: 'Lumen',
          source: 'simulator' as const,
          minute: T0 + m * MINUTE,
          counts: counts(10, 1, unscoredPosts),
        })),
        authors: [],
      })
      const start = T0 + 90 * MINUTE
      for (let i = 0; i < 12; i++) watch.see(post(start + i * 4000, { label: i < 4 ? 'negative' : 'positive' }))
      return watch.see(post(start + MINUTE + GRACE_MS)).readings.filter((r) => r.brand === 'Lumen')
    }
    expect(seeded(30)).toEqual(seeded(0))
  })

  it('resumes its baselines from stored minutes after a restart, without a new warm-up', () => {
    const counts = (posts: number, negative: number) => ({
      ...emptyCounts(),
      posts,
      negative,
      positive: posts - negative,
    })
    const minutes = Array.from({ length: 90 }, (_, m) => ({
      brand: 'Lumen',
      source: 'simulator' as const,
      minute: T0 + m * MINUTE,
      counts: counts(10, 1),
    }))
    const watch = new BacklashWatch(tracking)
    watch.seed({ minutes, authors: [] })
    const start = T0 + 90 * MINUTE
    for (let i = 0; i < 10; i++) watch.see(post(start + i * 5000, { label: i === 0 ? 'negative' : 'positive' }))
    const [reading] = watch.see(post(start + MINUTE + GRACE_MS)).readings.filter((r) => r.brand === 'Lumen')
    expect(reading).toMatchObject({ warming: false, score: 0 })
    // And a burst right after the restart alerts at once.
    for (let i = 0; i < 40; i++)
      watch.see(post(start + MINUTE + GRACE_MS + i * 100, { label: 'negative', text: 'Lumen battery drain' }))
    expect(watch.see(post(start + 2 * MINUTE + GRACE_MS)).changes.map((c) => c.kind)).toEqual(['raised'])
  })

  it('takes the overdue backlog of the last stored hour as usual after a restart; one that grew in that hour still stands out', () => {
    const counts = (posts: number, negative: number) => ({
      ...emptyCounts(),
      posts,
      negative,
      positive: posts - negative,
    })
    const minutes = Array.from({ length: 90 }, (_, m) => ({
      brand: 'Lumen',
      source: 'simulator' as const,
      minute: T0 + m * MINUTE,
      counts: counts(10, 1),
    }))
    const start = T0 + 90 * MINUTE
    const negative = (crossedTargetAt: number[]) =>
      crossedTargetAt.map((t, i) => ({
        brand: 'Lumen',
        id: `simulator:old-${i}-${t}`,
        at: t - 60 * MINUTE,
        negative: true,
      }))
    const overdueAfterRestart = (mentions: ReturnType<typeof negative>) => {
      const watch = new BacklashWatch(tracking)
      watch.seed({ minutes, authors: [] })
      watch.seedConversations({ mentions, answers: [], ownPosts: [], threadReplies: [] })
      for (let i = 0; i < 10; i++) watch.see(post(start + i * 5000))
      const [reading] = watch.see(post(start + MINUTE + GRACE_MS)).readings.filter((r) => r.brand === 'Lumen')
      return reading!.parts.find((p) => p.name === 'overdue')!
    }
    // Steady: one mention went past the one-hour target every 90 s for two hours, 40 in any hour.
    const steady = overdueAfterRestart(negative(Array.from({ length: 80 }, (_, i) => start - i * 90_000)))
    expect(steady.score).toBe(0)
    expect(steady.expected).toBeGreaterThan(35)
    // Building: forty went past it in the last five minutes, none before.
    const building = overdueAfterRestart(negative(Array.from({ length: 40 }, (_, i) => start - i * 7_000)))
    expect(building.score).toBeGreaterThan(0.5)
  })

  it('resumes where the stored minutes end even when event time there is ahead of the clock (a fast simulator)', () => {
    const ahead = Date.now() - (Date.now() % MINUTE) + 6 * 60 * MINUTE
    const minutes = Array.from({ length: 60 }, (_, m) => ({
      brand: 'Lumen',
      source: 'simulator' as const,
      minute: ahead + m * MINUTE,
      counts: { ...emptyCounts(), posts: 10, positive: 10 },
    }))
    const watch = new BacklashWatch(tracking)
    watch.seed({ minutes, authors: [] })
    const resumed = ahead + 61 * MINUTE
    watch.see(post(resumed))
    expect(watch.see(post(resumed + MINUTE + GRACE_MS)).readings.filter((r) => r.brand === 'Lumen')).toHaveLength(1)
    expect(watch.early).toBe(0)
  })

  it('counts a post for a minute already read as late, and reads nothing before the first post', () => {
    const watch = new BacklashWatch(tracking)
    expect(watch.closeUpTo(T0 + 10 * MINUTE)).toEqual({ readings: [], changes: [], responsiveness: [], dialogue: [] })
    watch.see(post(T0 + 5 * MINUTE))
    watch.see(post(T0 + 7 * MINUTE))
    watch.see(post(T0 + 5 * MINUTE + 1000))
    expect(watch.late).toBe(1)
    // A post from a bad clock reads no minutes.
    expect(watch.see(post(Date.parse('2099-01-01T00:00:00Z')))).toEqual({
      readings: [],
      changes: [],
      responsiveness: [],
      dialogue: [],
    })
    expect(watch.early).toBe(1)
    expect(watch.see(post(T0 + 8 * MINUTE + GRACE_MS)).readings.length).toBe(2 * 3)
  })
})

describe('replies', () => {
  it('needs a reply to questions, complaints and support needs, and by configuration to direct mentions', () => {
    const question = post(T0, { intents: ['question'], label: 'negative' })
    const praise = post(T0, { intents: ['praise'] })
    const direct = { ...post(T0), terms: ['@lumen'] }
    const rules = replyRules(tracking)
    expect([question, praise, direct].map((p) => needsReplyFrom(p, rules))).toEqual([['Lumen'], [], []])
    const all = replyRules(tracking, true)
    expect([question, praise, direct].map((p) => needsReplyFrom(p, all))).toEqual([['Lumen'], [], ['Lumen']])
  })

  it('keeps the queue by age, singles out the overdue, and measures the first replies over the day', () => {
    const queue = new ReplyQueue()
    const waiting = (at: number, negative = false, brands = ['Lumen']) => ({
      ...post(at, { label: negative ? 'negative' : 'positive' }),
      needsReply: brands,
    })
    const a = waiting(T0, true)
    const b = waiting(T0 + 10 * MINUTE)
    const c = waiting(T0 + 100 * MINUTE, true)
    const d = waiting(T0 + 110 * MINUTE)
    for (const p of [a, b, c, d, post(T0), waiting(T0, true, ['Corvid'])]) queue.see(p)
    // A brand reply answers a mention as the store counts it: linked to it, and it needed one.
    const reply = (at: number, mention: ScoredPost, needed = true): ScoredPost => ({
      ...post(at, { ownBrand: 'Lumen', replyTo: mention.id }),
      answersMentionAt: mention.createdAt,
      mentionNeedsReply: needed,
    })
    queue.see(reply(T0 + 30 * MINUTE, b))
    queue.see(reply(T0 + 40 * MINUTE, b)) // a second reply: the first counts
    queue.see(reply(T0 + 115 * MINUTE, d))
    queue.see(post(T0 + 20 * MINUTE, { ownBrand: 'Lumen', replyTo: a.id })) // not linked to the mention: not counted
    const now = T0 + 120 * MINUTE
    const r = queue.responsiveness('Lumen', now)
    expect(r).toMatchObject({
      needingReply: 4,
      answered: 2,
      replyRate: 0.5,
      medianSeconds: 20 * 60,
      p90Seconds: 20 * 60,
      overdue: 1,
      overdueNegative: 1,
    })
    // c waits 20 minutes (under an hour), a 120 minutes (under four hours).
    expect(r.waitingByAge).toEqual([0, 1, 1, 0, 0])
    expect(r.oldestOverdue).toEqual([{ id: a.id, at: a.createdAt, ageSeconds: 7200, negative: true }])
    expect(queue.overdue('Lumen', now)).toEqual({ total: 1, negative: 1 })
    // Past the target within the last hour only: a went past it at T0 + 60 min.
    expect(queue.overdue('Lumen', now, REPLY_TARGET_MS, 30 * MINUTE).total).toBe(0)
    expect(queue.overdue('Lumen', now, REPLY_TARGET_MS, 60 * MINUTE).total).toBe(1)
    // A reply dated after "now" does not count yet.
    queue.see(reply(now + 5_000, c))
    expect(queue.responsiveness('Lumen', now).answered).toBe(2)
    expect(queue.responsiveness('Lumen', now + MINUTE).answered).toBe(3)
  })
})

describe('dialogue on own posts', () => {
  it("counts the replies in each own post's thread by others, and its depth, as of now", () => {
    const recent = new RecentPosts()
    const own = post(T0, { ownBrand: 'Lumen' })
    const quiet = post(T0 + MINUTE, { ownBrand: 'Lumen' })
    const answerToMention = post(T0, { ownBrand: 'Lumen', replyTo: 'simulator:mention' })
    const chain: ScoredPost[] = [own, quiet, answerToMention]
    recent.add({ ...own, broadcastBy: 'Lumen' })
    recent.add({ ...quiet, broadcastBy: 'Lumen' })
    // Two replies to the post, one reply to a reply, and the brand answering in the thread.
    const r1 = { ...post(T0 + 2 * MINUTE, { replyTo: own.id, brands: [] }) }
    const r2 = { ...post(T0 + 3 * MINUTE, { replyTo: own.id, brands: [] }) }
    for (const r of [r1, r2]) {
      const linked = linkThread(r, recent) as ScoredPost
      recent.add(linked)
      chain.push(linked)
    }
    const r3 = linkThread(post(T0 + 4 * MINUTE, { replyTo: r1.id, brands: [] }), recent) as ScoredPost
    recent.add(r3)
    const brandInThread = linkThread(post(T0 + 5 * MINUTE, { replyTo: r3.id, ownBrand: 'Lumen' }), recent) as ScoredPost
    chain.push(r3, brandInThread)
    expect(r3.thread).toEqual({ root: own.id, brand: 'Lumen', depth: 2 })
    expect(brandInThread.thread).toEqual({ root: own.id, brand: 'Lumen', depth: 3 })
    expect(recent.inThread(r3.id)).toBe(true)
    expect(recent.inThread('simulator:elsewhere')).toBe(false)

    const ledger = new DialogueLedger()
    for (const p of chain) ledger.see(p)
    const d = ledger.dialogue('Lumen', T0 + 10 * MINUTE)
    expect(d).toMatchObject({ ownPosts: 2, replies: 3, conversationRate: 1.5, conversations: 1, broadcastOnly: 1 })
    // The brand's own reply in the thread counts for neither the replies nor the depth.
    expect(d.top[0]).toEqual({ id: own.id, at: own.createdAt, replies: 3, depth: 2 })
    // As of an earlier time, the later replies wait.
    expect(ledger.dialogue('Lumen', T0 + 3 * MINUTE)).toMatchObject({ replies: 1 })
    expect(ledger.dialogue('Corvid', T0 + 10 * MINUTE)).toMatchObject({ ownPosts: 0, conversationRate: null })
  })
})

describe('rising terms', () => {
  it('takes words and pairs, without stop words or the brand, and prefers a pair to its words', () => {
    expect(termsOf('The Lumen battery drains overnight!', new Set(['lumen']))).toEqual([
      'battery',
      'drains',
      'overnight',
      'battery drains',
      'drains overnight',
    ])
    const tally = new TermTally(0.1, 3)
    for (let m = 0; m < 30; m++) {
      tally.add(['screen', 'camera'])
      tally.close()
      tally.learn()
    }
    for (let i = 0; i < 6; i++) tally.add(['battery', 'drain', 'battery drain', 'screen'])
    tally.close()
    expect(tally.rising(3).map((t) => t.term)).toEqual(['battery drain', 'screen'])
  })
})
