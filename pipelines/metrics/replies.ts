// Responsiveness: which mentions need a reply from the brand (decided once per post, by
// needsReplyFrom, and stored with it), and live, which of those still wait for one: the queue by
// age, those past the reply target, and over the last day the response rate and the median and
// 90th-percentile time to the brand's first reply. A reply from any of the brand's own accounts to
// the mention answers it.
import type { Intent, Responsiveness, ScoredPost, TrackedBrand, ConversationSeed } from '../schema.ts'

export const NEEDS_REPLY_INTENTS: readonly Intent[] = ['question', 'complaint', 'support']
/** The reply target: most people who complain publicly expect an answer within the hour. */
export const REPLY_TARGET_MS = 60 * 60_000
/** Mentions needing a reply are remembered up to this many (the oldest go first) and this long. */
export const WAITING_MAX = 100_000
export const WAITING_MS = 48 * 60 * 60_000
/** The live response rate and times are over the mentions of this last stretch of event time. */
export const RESPONSE_WINDOW_MS = 24 * 60 * 60_000
/** Ages the queue is counted in (upper bounds; the last is everything older). */
export const QUEUE_AGES_MS = [15 * 60_000, 60 * 60_000, 4 * 60 * 60_000, 24 * 60 * 60_000] as const

export interface ReplyRules {
  /** Every post that @-mentions one of the brand's accounts needs a reply, not only questions and complaints. */
  allMentions: boolean
  /** Per brand, its accounts as they appear in matched terms (`@handle`). */
  handles: ReadonlyMap<string, readonly string[]>
}

export function replyRules(tracking: readonly TrackedBrand[], allMentions = false): ReplyRules {
  return {
    allMentions,
    handles: new Map(tracking.map((b) => [b.name, b.handles.map((h) => `@${h.replace(/^@/, '').toLowerCase()}`)])),
  }
}

/** The brands a mention needs a reply from: it asks, complains or needs support; or names their account. */
export function needsReplyFrom(
  post: { brands: readonly string[]; terms: readonly string[]; sentiment?: { intents: readonly Intent[] } },
  rules: ReplyRules,
): string[] {
  const asks = (post.sentiment?.intents ?? []).some((i) => NEEDS_REPLY_INTENTS.includes(i))
  return post.brands.filter(
    (brand) => asks || (rules.allMentions && (rules.handles.get(brand) ?? []).some((h) => post.terms.includes(h))),
  )
}

interface Mention {
  brand: string
  id: string
  at: number
  negative: boolean
  /** When the brand first replied; absent while it waits. */
  answeredAt?: number
}

export class ReplyQueue {
  private readonly mentions = new Map<string, Mention>()

  constructor(private readonly capacity = WAITING_MAX) {}

  /** After a restart: the stored mentions that needed a reply, with the brand's first replies. */
  seed(seed: Pick<ConversationSeed, 'mentions' | 'answers'>): void {
    for (const m of [...seed.mentions].sort((a, b) => a.at - b.at || a.id.localeCompare(b.id))) {
      const k = key(m.brand, m.id)
      if (!this.mentions.has(k)) this.mentions.set(k, { brand: m.brand, id: m.id, at: m.at, negative: m.negative })
    }
    for (const a of seed.answers) {
      const m = this.mentions.get(key(a.brand, a.mentionId))
      if (m && (m.answeredAt === undefined || a.at < m.answeredAt)) m.answeredAt = a.at
    }
    while (this.mentions.size > this.capacity) this.mentions.delete(this.mentions.keys().next().value!)
  }

  /** A post that passes: a mention that needs a reply, or the brand's reply to one. */
  see(post: ScoredPost): void {
    // The same replies the store counts (brand_replies: linked to the mention, which needed one).
    if (post.ownBrand && post.replyTo && post.answersMentionAt && post.mentionNeedsReply) {
      const m = this.mentions.get(key(post.ownBrand, post.replyTo))
      const at = Date.parse(post.createdAt)
      if (m && (m.answeredAt === undefined || at < m.answeredAt)) m.answeredAt = at
    }
    for (const brand of post.needsReply ?? []) {
      const k = key(brand, post.id)
      if (this.mentions.has(k)) continue
      this.mentions.set(k, {
        brand,
        id: post.id,
        at: Date.parse(post.createdAt),
        negative: post.sentiment?.label === 'negative',
      })
      if (this.mentions.size > this.capacity) this.mentions.delete(this.mentions.keys().next().value!)
    }
  }

  /**
   * Mentions of the brand without a reply that went past the target at `now` within `horizon`
   * before it (all of them by default), and the negative ones among them.
   */
  overdue(
    brand: string,
    now: number,
    target = REPLY_TARGET_MS,
    horizon = Number.POSITIVE_INFINITY,
  ): { total: number; negative: number } {
    let total = 0
    let negative = 0
    for (const m of this.mentions.values()) {
      const age = now - m.at
      // Answered by `now`: a reply that came later leaves it overdue as of `now` (so past minutes can be read again).
      if (
        m.brand !== brand ||
        (m.answeredAt !== undefined && m.answeredAt <= now) ||
        age <= target ||
        age > target + horizon
      )
        continue
      total++
      if (m.negative) negative++
    }
    return { total, negative }
  }

  /** The brand's responsiveness as of `now` (event time); forgets what is older than WAITING_MS. */
  responsiveness(brand: string, now: number, target = REPLY_TARGET_MS): Responsiveness {
    const delays: number[] = []
    let needingReply = 0
    const waitingByAge = [0, 0, 0, 0, 0]
    const overdue: Mention[] = []
    for (const [k, m] of this.mentions) {
      if (now - m.at > WAITING_MS) {
        this.mentions.delete(k)
        continue
      }
      if (m.brand !== brand || m.at >= now) continue
      // As of now: a reply seen already but dated later (event time runs a little ahead) waits.
      const answered = m.answeredAt !== undefined && m.answeredAt < now
      if (now - m.at <= RESPONSE_WINDOW_MS) {
        needingReply++
        if (answered) delays.push(m.answeredAt! - m.at)
      }
      if (answered) continue
      const age = now - m.at
      const bucket = QUEUE_AGES_MS.findIndex((limit) => age < limit)
      waitingByAge[bucket === -1 ? QUEUE_AGES_MS.length : bucket]!++
      if (age > target) overdue.push(m)
    }
    delays.sort((a, b) => a - b)
    overdue.sort((a, b) => a.at - b.at)
    return {
      brand,
      at: new Date(now).toISOString(),
      needingReply,
      answered: delays.length,
      replyRate: needingReply === 0 ? null : delays.length / needingReply,
      targetSeconds: target / 1000,
      medianSeconds: quantileSeconds(delays, 0.5),
      p90Seconds: quantileSeconds(delays, 0.9),
      waitingByAge,
      overdue: overdue.length,
      overdueNegative: overdue.filter((m) => m.negative).length,
      oldestOverdue: overdue.slice(0, 20).map((m) => ({
        id: m.id,
        at: new Date(m.at).toISOString(),
        ageSeconds: Math.round((now - m.at) / 1000),
        negative: m.negative,
      })),
    }
  }
}

/** The exact quantile as ClickHouse's quantileExact takes it: the element at floor(q * n). */
function quantileSeconds(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! / 1000
}

const key = (brand: string, postId: string) => `${brand}\u0000${postId}`
