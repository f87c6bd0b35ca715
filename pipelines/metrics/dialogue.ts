// Dialogue on the brand's own posts: which of them start conversations and which only broadcast.
// An own post is one from the brand's own accounts that is not a reply (its replies to mentions
// are responsiveness). Every reply in its thread, however deep, by anyone but the brand, counts
// for it; the depth is the deepest of those replies (the brand's own replies in the thread count
// for neither). The conversation rate is replies per own post.
import type { Dialogue, ScoredPost, ConversationSeed } from '../schema.ts'

/** Own posts of the last day are kept, up to this many per brand (the oldest go first). */
export const DIALOGUE_WINDOW_MS = 24 * 60 * 60_000
export const DIALOGUE_MAX = 10_000
export const DIALOGUE_TOP = 10

/** An own post and the replies in its thread so far: when each came, and how deep. */
interface OwnPost {
  id: string
  at: number
  replies: { at: number; depth: number }[]
}

export interface ConversationFigures {
  id: string
  at: number
  replies: number
  depth: number
}

export class DialogueLedger {
  private readonly brands = new Map<string, Map<string, OwnPost>>()

  /** After a restart: the stored own posts of the last day, with the replies in their threads. */
  seed(seed: Pick<ConversationSeed, 'ownPosts' | 'threadReplies'>): void {
    for (const o of [...seed.ownPosts].sort((a, b) => a.at - b.at || a.id.localeCompare(b.id))) {
      const posts = this.posts(o.brand)
      if (!posts.has(o.id)) posts.set(o.id, { id: o.id, at: o.at, replies: [] })
    }
    for (const r of seed.threadReplies)
      this.brands.get(r.brand)?.get(r.root)?.replies.push({ at: r.at, depth: r.depth })
  }

  see(post: ScoredPost): void {
    if (post.ownBrand && !post.replyTo) {
      const posts = this.posts(post.ownBrand)
      if (!posts.has(post.id)) posts.set(post.id, { id: post.id, at: Date.parse(post.createdAt), replies: [] })
      if (posts.size > DIALOGUE_MAX) posts.delete(posts.keys().next().value!)
    }
    if (post.thread && post.ownBrand !== post.thread.brand) {
      const root = this.brands.get(post.thread.brand)?.get(post.thread.root)
      root?.replies.push({ at: Date.parse(post.createdAt), depth: post.thread.depth })
    }
  }

  /**
   * The brand's own posts of the day before `now` (event time), with their conversations as of now:
   * a reply seen already but dated later (event time runs a little ahead) waits.
   */
  dialogue(brand: string, now: number): Dialogue {
    const posts = this.posts(brand)
    const recent: ConversationFigures[] = []
    for (const [id, p] of posts) {
      if (now - p.at > DIALOGUE_WINDOW_MS) posts.delete(id)
      else if (p.at < now) {
        const replies = p.replies.filter((r) => r.at < now)
        recent.push({
          id: p.id,
          at: p.at,
          replies: replies.length,
          depth: replies.reduce((d, r) => Math.max(d, r.depth), 0),
        })
      }
    }
    return summarise(brand, now, recent)
  }

  private posts(brand: string): Map<string, OwnPost> {
    let posts = this.brands.get(brand)
    if (!posts) this.brands.set(brand, (posts = new Map()))
    return posts
  }
}

/** Own posts and their conversations into the figures: shared with the store's history query. */
export function summarise(brand: string, now: number, posts: readonly ConversationFigures[]): Dialogue {
  const replies = posts.reduce((sum, p) => sum + p.replies, 0)
  const conversations = posts.filter((p) => p.replies > 0).length
  const top = [...posts]
    .sort((a, b) => b.replies - a.replies || b.depth - a.depth || b.at - a.at || a.id.localeCompare(b.id))
    .slice(0, DIALOGUE_TOP)
  return {
    brand,
    at: new Date(now).toISOString(),
    ownPosts: posts.length,
    replies,
    conversationRate: posts.length === 0 ? null : replies / posts.length,
    conversations,
    broadcastOnly: posts.length - conversations,
    top: top.map((p) => ({ id: p.id, at: new Date(p.at).toISOString(), replies: p.replies, depth: p.depth })),
  }
}
