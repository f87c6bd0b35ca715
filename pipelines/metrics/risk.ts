// Backlash risk: a score from 0 to 100 per brand, read at the end of every event-time minute, from
// four parts that each say how far this minute stands from the brand's normal:
// - spike: mention volume, and negative mention volume, against an exponentially weighted
//   baseline (mean and mean deviation);
// - negative share: a two-proportion z-test of the negative share against the baseline's;
// - reach negativity: the share of the audience reached that was reached by negative posts, above
//   its baseline;
// - overdue: negative mentions that needed a reply and got none within the reply target, against
//   how many usually go unanswered.
// Each window is read against the baseline from before it began, and each z-test is held to its
// exact test (small counts). Each part is scored 0..1 and weighted; a launch spike alone (volume up, negativity not) stays
// below the warning level by construction. docs/metrics.md has the rationale and calibration
// (npm run eval:backlash).
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf'
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile'
import poissonCdf from '@stdlib/stats-base-dists-poisson-cdf'
import type { RiskPart, RiskReading } from '../schema.ts'
import { RISK_WEIGHTS } from '../vocabulary.ts'

/** The baseline's memory: an exponentially weighted mean over about this many minutes. */
export const BASELINE_MINUTES = 120
const ALPHA = 2 / (BASELINE_MINUTES + 1)
/** Minutes of baseline before a score may raise an alert. */
export const WARMUP_MINUTES = 45
/** While a minute reads as a backlash, the baseline learns from it this much slower. */
export const LEARN_IN_BACKLASH = 0.1
/** The trailing windows a minute is read over: one minute is fast, three steadier, fifteen see a slow burn. */
const WINDOWS = [1, 3, 15] as const
/** Reach negativity is read over five minutes: one big account's minute is not the audience's mood. */
const REACH_WINDOW = 5
/**
 * The z-tests approximate counts by a normal law, which holds once there are a few of them (the
 * usual rule is five): a window with fewer negative posts than this scores nothing on negativity.
 */
export const MIN_NEGATIVE = 5
/**
 * A z-score starts to count at Z_FROM and counts fully Z_SPAN above it. Every minute tests three
 * windows of two series, 1,440 times a day: a z of 3 happens by chance a few times a day, so the
 * parts only begin there (calibrated with npm run eval:backlash; docs/metrics.md).
 */
export const Z_FROM = 3
export const Z_SPAN = 3
/**
 * The negative share's test starts lower: a share rising alone scores at most 40 points, the
 * warning level, so it raises an alert only with a spike beside it, and a slow burn shows in it first.
 */
export const SHARE_Z_FROM = 2
/**
 * A spike of negative mentions needs a few more of them than the share test: a chance cluster of
 * five complaints in a quiet minute was the commonest false alert (npm run eval:backlash).
 */
export const NEGATIVE_SPIKE_MIN = 6

/** What one brand's mentions added up to in one minute. */
export interface MinuteTally {
  posts: number
  negative: number
  /** Followers of every post's author, and of the negative posts' authors. */
  reach: number
  negativeReach: number
  /** Negative mentions that went past the reply target in the last hour without a reply. */
  overdue: number
}

export const emptyTally = (): MinuteTally => ({ posts: 0, negative: 0, reach: 0, negativeReach: 0, overdue: 0 })

/**
 * The z of an exact test: the normal z whose upper tail is as small as the count's. The z-tests'
 * normal approximation flatters small counts (five complaints where one is usual reads as z = 4.5
 * against an exact 3.3), and small counts at night were where the false alerts came from; each
 * z-test is therefore held to its exact test too. A tail too small for a double leaves the z-test alone.
 */
const exactZ = (tail: number) => (tail <= 0 ? Number.POSITIVE_INFINITY : -normalQuantile(Math.min(tail, 1), 0, 1))
/** P(X >= x) for a Poisson count of the given mean, as a z. */
export const poissonZ = (x: number, mean: number) => (x <= 0 ? 0 : exactZ(1 - poissonCdf(x - 1, mean)))
/** P(X >= k) for k of n posts, each with probability p, as a z. */
export const binomialZ = (k: number, n: number, p: number) => (k <= 0 ? 0 : exactZ(1 - binomialCdf(k - 1, n, p)))

const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0)
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits

/** What the baseline has learned: exponentially weighted means (and mean deviations) per minute. */
interface Normal {
  posts: number
  deviation: number
  negative: number
  negativeDeviation: number
  reach: number
  negativeReach: number
  overdue: number
  minutes: number
}

/** One brand's normal, learned minute by minute. */
export class Baseline {
  private normal: Normal = {
    posts: 0,
    deviation: 0,
    negative: 0,
    negativeDeviation: 0,
    reach: 0,
    negativeReach: 0,
    overdue: 0,
    minutes: 0,
  }
  /**
   * The normal as it stood before each of the last minutes. A window is read against the normal
   * from before it began, so that its own minutes do not vouch for it: without this, a slow burn
   * teaches the baseline its first minutes while its 15-minute window is still being read.
   */
  private readonly before: Normal[] = []
  private readonly recent: MinuteTally[] = []

  get minutes(): number {
    return this.normal.minutes
  }

  /** Reads the minute just ended against the baseline as it stood before it. */
  read(brand: string, minute: number, tally: MinuteTally): RiskReading {
    this.recent.push(tally)
    if (this.recent.length > Math.max(...WINDOWS)) this.recent.shift()
    this.before.push({ ...this.normal })
    if (this.before.length > Math.max(...WINDOWS)) this.before.shift()
    const parts = [this.spike(), this.negativeShare(), this.reachNegativity(), this.overduePart(tally.overdue)]
    const score = round(100 * parts.reduce((sum, p) => sum + RISK_WEIGHTS[p.name] * p.score, 0), 1)
    return { brand, minute: new Date(minute).toISOString(), score, parts, warming: this.minutes < WARMUP_MINUTES }
  }

  /** Then the minute joins the baseline, slower while it reads as a backlash. */
  learn(tally: MinuteTally, weight = 1): void {
    const n = this.normal
    // A plain mean over the first minutes, then exponentially weighted: an average started from
    // its first minute alone would lean on that minute for hours.
    const a = Math.max(ALPHA, 1 / (n.minutes + 1)) * (n.minutes === 0 ? 1 : weight)
    if (n.minutes > 0) {
      // The deviations have one sample fewer than the mean (none from the first minute).
      const d = Math.max(ALPHA, 1 / n.minutes) * weight
      n.deviation = (1 - d) * n.deviation + d * Math.abs(tally.posts - n.posts)
      n.negativeDeviation = (1 - d) * n.negativeDeviation + d * Math.abs(tally.negative - n.negative)
    }
    n.posts = (1 - a) * n.posts + a * tally.posts
    n.negative = (1 - a) * n.negative + a * tally.negative
    n.reach = (1 - a) * n.reach + a * tally.reach
    n.negativeReach = (1 - a) * n.negativeReach + a * tally.negativeReach
    n.overdue = (1 - a) * n.overdue + a * tally.overdue
    n.minutes++
  }

  /** After a restart: the overdue count the baseline starts from, as stored minutes cannot tell it. */
  assumeOverdue(count: number): void {
    this.normal.overdue = count
  }

  /** The normal from before the window of the last `minutes` minutes began (as far back as is kept). */
  private normalBefore(minutes: number): Normal {
    return this.before[Math.max(0, this.before.length - minutes)] ?? this.normal
  }

  private window(minutes: number): MinuteTally {
    const sum = emptyTally()
    for (const t of this.recent.slice(-minutes)) {
      sum.posts += t.posts
      sum.negative += t.negative
      sum.reach += t.reach
      sum.negativeReach += t.negativeReach
    }
    return sum
  }

  private spike(): RiskPart {
    // All scored mentions (backlash.ts leaves unscored ones out), and the negative ones: a backlash
    // can hide in a busy day's volume. Counts are
    // at least Poisson-noisy: the spread is never taken below the square root of the mean.
    let best = { z: Number.NEGATIVE_INFINITY, x: 0, m: 0, what: 'mentions' }
    for (const w of WINDOWS) {
      const window = this.window(w)
      const n = this.normalBefore(w)
      for (const [what, x, mean, deviation] of [
        ['mentions', window.posts, n.posts, n.deviation],
        ['negative mentions', window.negative, n.negative, n.negativeDeviation],
      ] as const) {
        if (what === 'negative mentions' && x < NEGATIVE_SPIKE_MIN) continue
        const sd = Math.sqrt(w) * Math.max(1.25 * deviation, Math.sqrt(mean), 0.5)
        const z = Math.min((x - w * mean) / sd, poissonZ(x, w * mean))
        if (z > best.z) best = { z, x, m: w * mean, what }
      }
    }
    return {
      name: 'spike',
      score: clamp01((best.z - Z_FROM) / Z_SPAN),
      value: round(best.z),
      expected: 0,
      detail: `${best.x} ${best.what} against ${round(best.m, 1)} expected (z = ${round(best.z, 1)})`,
    }
  }

  private negativeShare(): RiskPart {
    let best = { z: -Infinity, p: 0, n: 0, p0: 0 }
    for (const w of WINDOWS) {
      const { posts: n, negative: k } = this.window(w)
      if (k < MIN_NEGATIVE) continue
      const normal = this.normalBefore(w)
      const p0 = normal.posts > 0 ? normal.negative / normal.posts : 0
      // The baseline stands for the posts of the minutes it has seen, up to about BASELINE_MINUTES.
      const n0 = Math.max(1, normal.posts * Math.min(normal.minutes, BASELINE_MINUTES))
      const pooled = (k + p0 * n0) / (n + n0)
      const se = Math.sqrt(Math.max(pooled * (1 - pooled), 1e-6) * (1 / n + 1 / n0))
      const z = Math.min((k / n - p0) / se, binomialZ(k, n, p0))
      if (z > best.z) best = { z, p: k / n, n, p0 }
    }
    if (best.z === -Infinity)
      best = { z: 0, p: 0, n: 0, p0: this.normal.posts > 0 ? this.normal.negative / this.normal.posts : 0 }
    const { p0 } = best
    return {
      name: 'negativeShare',
      score: clamp01((best.z - SHARE_Z_FROM) / Z_SPAN),
      value: round(best.p, 3),
      expected: round(p0, 3),
      detail: `${Math.round(best.p * 100)}% negative of ${best.n} mentions against ${Math.round(p0 * 100)}% usually (z = ${round(best.z, 1)})`,
    }
  }

  private reachNegativity(): RiskPart {
    const normal = this.normalBefore(REACH_WINDOW)
    const r0 = normal.reach > 0 ? normal.negativeReach / normal.reach : 0
    const { reach, negativeReach, negative } = this.window(REACH_WINDOW)
    const r = reach > 0 && negative >= MIN_NEGATIVE ? negativeReach / reach : 0
    return {
      name: 'reachNegativity',
      score: clamp01((r - r0) / Math.max(1 - r0, 0.05)),
      value: round(r, 3),
      expected: round(r0, 3),
      detail: `${Math.round(r * 100)}% of the audience reached was reached by negative posts, against ${Math.round(r0 * 100)}% usually`,
    }
  }

  /** Some mentions always go unanswered: what counts is more of them than usual. */
  private overduePart(count: number): RiskPart {
    const usual = this.normal.overdue
    const z = (count - usual) / Math.sqrt(usual + 1)
    return {
      name: 'overdue',
      score: clamp01((z - Z_FROM) / Z_SPAN),
      value: count,
      expected: round(usual, 1),
      detail: `${count} negative mentions went past the reply target in the last hour without a reply, against ${round(usual, 1)} usually`,
    }
  }
}
