// Watches every tracked brand (its backlash risk, and as minutes end its responsiveness and the
// dialogue on its own posts) for a backlash: posts are tallied per event-time minute; when a minute
// is over (GRACE_MS after its end, in event time, so posts still in flight land in it) each brand's
// minute is read for risk (risk.ts), its alert moved on (alerting.ts), and then learned into the
// baseline. A post for a minute already read is late: stored and counted, but not read for risk.
import { MINUTE_MS } from '../time.ts'
import type {
  Alert,
  Dialogue,
  Responsiveness,
  RiskReading,
  ScoredPost,
  TrackedBrand,
  ConversationSeed,
} from '../schema.ts'
import { LEVELS } from '../vocabulary.ts'
import { DialogueLedger } from './dialogue.ts'
import { AlertLifecycle, type AlertChange, type Evidence } from './alerting.ts'
import { REPLY_TARGET_MS, ReplyQueue } from './replies.ts'
import { Baseline, emptyTally, LEARN_IN_BACKLASH, type MinuteTally, BASELINE_MINUTES } from './risk.ts'
import { type LedgerSeed, plausibleTime } from './ledger.ts'
import { TermTally, termsOf } from './terms.ts'

/** How long after a minute's end (in event time) it is read: posts reach the sink a little out of order. */
export const GRACE_MS = 10_000
/** Minutes of negative posts an alert picks its examples from, and the burst its terms come from. */
export const BURST_MINUTES = 5
/** A jump in event time longer than this skips the minutes between (nothing was said in them). */
const MAX_GAP_MINUTES = 24 * 60
/** Minutes of stored history a restarted watch learns its baselines from. */
const SEED_MINUTES = 2 * BASELINE_MINUTES
/** Overdue mentions are those that went past the reply target within the last hour. */
const OVERDUE_HORIZON_MS = 60 * MINUTE_MS

interface Pending {
  tally: MinuteTally
  terms: string[][]
  negatives: { id: string; followers: number }[]
}

interface Watched {
  baseline: Baseline
  terms: TermTally
  lifecycle: AlertLifecycle
  ignore: Set<string>
  /** Negative posts of the last BURST_MINUTES read minutes, newest minute last. */
  negatives: { id: string; followers: number }[][]
}

export interface Assessment {
  readings: RiskReading[]
  changes: AlertChange[]
  /** Each brand's responsiveness and dialogue on its own posts as of the last minute read, when any was. */
  responsiveness: Responsiveness[]
  dialogue: Dialogue[]
}

const nothing = (): Assessment => ({ readings: [], changes: [], responsiveness: [], dialogue: [] })

export interface BacklashOptions {
  /** The reply target (default REPLY_TARGET_MS, an hour). */
  replyTargetMs?: number
}

export class BacklashWatch {
  private readonly brands = new Map<string, Watched>()
  private readonly pending = new Map<number, Map<string, Pending>>()
  private readonly replies: ReplyQueue
  private readonly dialogue = new DialogueLedger()
  /** Every minute before this one (epoch ms of its start) has been read; NaN before the first post. */
  private next = Number.NaN
  /** The newest minute the store held at start-up: event time had got this far before the restart. */
  private resumedFrom = 0
  late = 0
  early = 0
  private readonly target: number

  constructor(tracking: readonly TrackedBrand[], options: BacklashOptions = {}) {
    this.replies = new ReplyQueue()
    this.target = options.replyTargetMs ?? REPLY_TARGET_MS
    for (const b of tracking) {
      // The brand's own names and handles say nothing about what a burst is about.
      const ignore = new Set(
        [...b.keywords, ...b.handles].flatMap((k) => termsOf(k, new Set())).concat(b.name.toLowerCase()),
      )
      this.brands.set(b.name, {
        baseline: new Baseline(),
        terms: new TermTally(2 / (BASELINE_MINUTES + 1), BURST_MINUTES),
        lifecycle: new AlertLifecycle(b.name),
        ignore,
        negatives: [],
      })
    }
  }

  /**
   * Learns each brand's baseline from the stored minutes (after a restart), so that alerts need not
   * wait for a new warm-up. The store keeps no per-post reach by minute: the seeded minutes count
   * each post as reach 1, so the reach baseline starts at the negative share and learns from there.
   */
  seed(seed: LedgerSeed): void {
    const byBrand = new Map<string, Map<number, MinuteTally>>()
    let newest = 0
    for (const m of seed.minutes) {
      newest = Math.max(newest, m.minute)
      let minutes = byBrand.get(m.brand)
      if (!minutes) byBrand.set(m.brand, (minutes = new Map()))
      const t = minutes.get(m.minute) ?? emptyTally()
      const scored = m.counts.posts - m.counts.unscored
      t.posts += scored
      t.negative += m.counts.negative
      t.reach += scored
      t.negativeReach += m.counts.negative
      minutes.set(m.minute, t)
    }
    this.resumedFrom = newest
    const from = newest - (SEED_MINUTES - 1) * MINUTE_MS
    for (const [brand, w] of this.brands) {
      const minutes = byBrand.get(brand)
      if (!minutes) continue
      const first = Math.max(from, Math.min(...minutes.keys()))
      for (let m = first; m <= newest; m += MINUTE_MS) {
        const tally = minutes.get(m) ?? emptyTally()
        // As live: a stored minute that read as a backlash is learned ten times slower.
        const reading = w.baseline.read(brand, m, tally)
        w.baseline.learn(tally, reading.score >= LEVELS.warning ? LEARN_IN_BACKLASH : 1)
      }
    }
  }

  /** After a restart: the mentions waiting for replies and the own posts' conversations go on. */
  seedConversations(seed: ConversationSeed): void {
    this.replies.seed(seed)
    this.dialogue.seed(seed)
    // The stored minutes do not say how many mentions went overdue in each: the baselines learned
    // none, and a brand that leaves many mentions unanswered would read as a backlash for hours
    // after every restart. The conversations can say it: the mean over the last stored hour is
    // taken as usual (a backlog that grew in that hour still stands out against it).
    if (this.resumedFrom === 0) return
    const end = this.resumedFrom + MINUTE_MS
    for (const [brand, w] of this.brands) {
      let sum = 0
      for (let k = 0; k < OVERDUE_HORIZON_MS / MINUTE_MS; k++)
        sum += this.replies.overdue(brand, end - k * MINUTE_MS, this.target, OVERDUE_HORIZON_MS).negative
      w.baseline.assumeOverdue(sum / (OVERDUE_HORIZON_MS / MINUTE_MS))
    }
  }

  /** After a restart: the alerts still open (newest first) go on, one per brand. */
  resume(alerts: readonly Alert[]): void {
    for (const alert of alerts) this.brands.get(alert.brand)?.lifecycle.resume(alert)
  }

  /** Acknowledges the open alert with this id, whichever brand's it is; null when none is open with it. */
  acknowledge(id: string): AlertChange | null {
    for (const w of this.brands.values()) {
      const change = w.lifecycle.acknowledge(id)
      if (change) return change
    }
    return null
  }

  /** Takes one stored post; returns what the minutes it closed read. */
  see(post: ScoredPost): Assessment {
    const t = Date.parse(post.createdAt)
    const minute = t - (t % MINUTE_MS)
    // A post from a bad clock must not move the minutes on (see plausibleTime).
    // Before the first post, the stored minutes say how far event time had got: a simulator that
    // runs ahead of the clock resumes there, and must not be taken for a bad clock.
    if (!plausibleTime(t, Number.isNaN(this.next) ? this.resumedFrom : this.next)) {
      this.early++
      return nothing()
    }
    if (Number.isNaN(this.next)) this.next = minute
    this.replies.see(post)
    this.dialogue.see(post)
    if (minute < this.next) this.late++
    else this.tally(post, minute)
    return this.closeUpTo(t - GRACE_MS)
  }

  /** Reads every minute that ended before `now` (event time). */
  closeUpTo(now: number): Assessment {
    const out = nothing()
    if (Number.isNaN(this.next)) return out
    const end = now - (now % MINUTE_MS)
    if (end - this.next > MAX_GAP_MINUTES * MINUTE_MS) {
      this.next = end - MAX_GAP_MINUTES * MINUTE_MS
      for (const m of this.pending.keys()) if (m < this.next) this.pending.delete(m)
    }
    if (this.next >= end) return out
    for (; this.next < end; this.next += MINUTE_MS) {
      const minute = this.pending.get(this.next)
      this.pending.delete(this.next)
      for (const [brand, watched] of this.brands) this.read(brand, watched, this.next, minute?.get(brand), out)
    }
    for (const brand of this.brands.keys()) {
      out.responsiveness.push(this.replies.responsiveness(brand, end, this.target))
      out.dialogue.push(this.dialogue.dialogue(brand, end))
    }
    return out
  }

  private tally(post: ScoredPost, minute: number): void {
    // The score reads the posts read: one in a language the classifier does not read has no label
    // to be negative by, and would only dilute the negative share.
    if (!post.sentiment) return
    let byBrand = this.pending.get(minute)
    if (!byBrand) this.pending.set(minute, (byBrand = new Map()))
    const negative = post.sentiment.label === 'negative'
    for (const brand of post.brands) {
      const watched = this.brands.get(brand)
      if (!watched) continue
      let p = byBrand.get(brand)
      if (!p) byBrand.set(brand, (p = { tally: emptyTally(), terms: [], negatives: [] }))
      p.tally.posts++
      p.tally.reach += post.author.followers
      if (negative) {
        p.tally.negative++
        p.tally.negativeReach += post.author.followers
        p.negatives.push({ id: post.id, followers: post.author.followers })
        // The terms of negative posts: an alert is about what people complain of.
        p.terms.push(termsOf(post.text, watched.ignore))
      }
    }
  }

  private read(brand: string, w: Watched, minute: number, pending: Pending | undefined, out: Assessment): void {
    const tally = pending?.tally ?? emptyTally()
    for (const terms of pending?.terms ?? []) w.terms.add(terms)
    w.terms.close()
    w.negatives.push(pending?.negatives ?? [])
    if (w.negatives.length > BURST_MINUTES) w.negatives.shift()
    tally.overdue = this.replies.overdue(brand, minute + MINUTE_MS, this.target, OVERDUE_HORIZON_MS).negative
    const reading = w.baseline.read(brand, minute, tally)
    const change = w.lifecycle.step(reading, () => evidence(w))
    out.readings.push(reading)
    if (change) out.changes.push(change)
    const weight = reading.score >= LEVELS.warning ? LEARN_IN_BACKLASH : 1
    w.baseline.learn(tally, weight)
    w.terms.learn(weight)
  }
}

function evidence(w: Watched): Evidence {
  const examples = w.negatives.flat().sort((a, b) => b.followers - a.followers || a.id.localeCompare(b.id))
  return { terms: w.terms.rising(5).map((t) => t.term), examplePostIds: examples.slice(0, 3).map((e) => e.id) }
}
