// Which mentions need a reply from the brand, and which of those still wait for one. A mention
// needs a reply when it asks (question), complains, or needs support; with `allMentions`, every
// post that @-mentions one of the brand's own accounts does too. A reply from any of the brand's own
// accounts to the mention answers it.
import type { Intent, ScoredPost, TrackedBrand } from '../schema.ts'

export const NEEDS_REPLY_INTENTS: readonly Intent[] = ['question', 'complaint', 'support']
/** The reply target: most people who complain publicly expect an answer within the hour. */
export const REPLY_TARGET_MS = 60 * 60_000
/** Mentions waiting are remembered up to this many (the oldest go first) and for this long. */
export const WAITING_MAX = 100_000
export const WAITING_MS = 48 * 60 * 60_000

interface Waiting {
  brand: string
  at: number
  negative: boolean
}

export class ReplyQueue {
  private readonly waiting = new Map<string, Waiting>()
  private readonly handles: Map<string, string[]>

  constructor(
    tracking: readonly TrackedBrand[],
    private readonly allMentions = false,
    private readonly capacity = WAITING_MAX,
  ) {
    this.handles = new Map(tracking.map((b) => [b.name, b.handles.map((h) => `@${h.replace(/^@/, '').toLowerCase()}`)]))
  }

  needsReply(post: ScoredPost, brand: string): boolean {
    if (post.sentiment.intents.some((i) => NEEDS_REPLY_INTENTS.includes(i))) return true
    return this.allMentions && (this.handles.get(brand) ?? []).some((h) => post.terms.includes(h))
  }

  /** A post that passes: a mention that waits for a reply, or the brand's reply to one. */
  see(post: ScoredPost): void {
    if (post.ownBrand && post.replyTo) this.waiting.delete(key(post.ownBrand, post.replyTo))
    for (const brand of post.brands) {
      if (!this.needsReply(post, brand)) continue
      this.waiting.set(key(brand, post.id), { brand, at: Date.parse(post.createdAt), negative: post.sentiment.label === 'negative' })
      if (this.waiting.size > this.capacity) this.waiting.delete(this.waiting.keys().next().value!)
    }
  }

  /**
   * Mentions of the brand without a reply that went past the target at `now` within `horizon`
   * before it (all of them by default), and the negative ones among them.
   */
  overdue(brand: string, now: number, target = REPLY_TARGET_MS, horizon = Number.POSITIVE_INFINITY): { total: number; negative: number } {
    let total = 0
    let negative = 0
    for (const [k, w] of this.waiting) {
      if (now - w.at > WAITING_MS) {
        this.waiting.delete(k)
        continue
      }
      if (w.brand !== brand || now - w.at <= target || now - w.at > target + horizon) continue
      total++
      if (w.negative) negative++
    }
    return { total, negative }
  }
}

const key = (brand: string, postId: string) => `${brand}\u0000${postId}`
