// Relates events to the posts seen lately, so that the store needs no join:
// - an engagement update gets its post's brands and source (per-brand engagement counts);
// - a brand's own reply to a post that mentions the brand gets that post's time (response times).
// Posts are remembered once matched to brands, so an event that follows its post in the same
// stream finds it however fast the stream is; only the most recent ones (bounded), seeded from the
// store at start. An engagement update for a post older than that is stored unattributed.
import { map, type OperatorFunction } from 'rxjs'
import type { EngagementUpdate, Post } from '../schema.ts'
import type { AttributedEngagement } from '../store/store.ts'

/** Posts remembered (about 40 MB): hours of a busy brand, days of most. */
export const RECENT_POSTS = 200_000

export interface RecentPost {
  id: string
  source: Post['source']
  brands: readonly string[]
  createdAt: string
  /** The brands it waits for a reply from, once `triage` has told. */
  needsReply?: readonly string[]
}

export class RecentPosts {
  private readonly posts = new Map<string, RecentPost>()
  constructor(private readonly capacity = RECENT_POSTS) {}

  /** Oldest first, so the newest are kept when there are more than the capacity. */
  add(post: RecentPost): void {
    this.posts.delete(post.id)
    this.posts.set(post.id, { id: post.id, source: post.source, brands: post.brands, createdAt: post.createdAt, ...(post.needsReply ? { needsReply: post.needsReply } : {}) })
    if (this.posts.size > this.capacity) this.posts.delete(this.posts.keys().next().value!)
  }

  /** Once classified: which brands the post waits for a reply from (kept in place, not re-ordered). */
  markNeedsReply(id: string, brands: readonly string[]): void {
    const post = this.posts.get(id)
    if (post) post.needsReply = brands
  }

  get(id: string): RecentPost | undefined {
    return this.posts.get(id)
  }

  get size(): number {
    return this.posts.size
  }
}

export function attributeEngagement(update: EngagementUpdate, recent: RecentPosts): AttributedEngagement {
  const post = recent.get(update.postId)
  return { ...update, source: post?.source ?? '', brands: post?.brands ?? [] }
}

/**
 * The post, with answersMentionAt when it is its brand's reply to a mention of the brand (whether
 * that mention needed a reply is known only once it is classified: `triage` adds it).
 */
export function linkReply(post: Post, recent: RecentPosts): Post {
  if (!post.ownBrand || !post.replyTo) return post
  const mention = recent.get(post.replyTo)
  return mention?.brands.includes(post.ownBrand) ? { ...post, answersMentionAt: mention.createdAt } : post
}

export function attribute(recent: RecentPosts, onUnknown?: (update: EngagementUpdate) => void): OperatorFunction<EngagementUpdate, AttributedEngagement> {
  return map((update) => {
    const attributed = attributeEngagement(update, recent)
    if (attributed.source === '') onUnknown?.(update)
    return attributed
  })
}

/** Links brand replies to their mentions, and remembers every post that passes. */
export function relate(recent: RecentPosts): OperatorFunction<Post, Post> {
  return map((post) => {
    const linked = linkReply(post, recent)
    recent.add(linked)
    return linked
  })
}
