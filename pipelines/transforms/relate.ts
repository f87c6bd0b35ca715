// Relates events to the posts seen lately, so that the store needs no join:
// - an engagement update gets its post's brands and source (per-brand engagement counts);
// - a brand's own reply to a post that mentions the brand gets that post's time (response times).
// Posts are remembered once matched to brands, so an event that follows its post in the same
// stream finds it however fast the stream is; only the most recent ones (bounded), seeded from the
// store at start. An engagement update for a post older than that is stored unattributed.
import type { AttributedEngagement, EngagementUpdate, Post, RecentPost } from '../schema.ts'

/** Posts remembered (about 40 MB): hours of a busy brand, days of most. */
export const REMEMBERED_POSTS = 200_000
/** Mentions whose text is remembered for their replies' triage (about 20 MB); older ones are looked up in the store. */
export const MENTION_TEXTS = 50_000

/**
 * What a brand's reply needs of the mention it answers, to tell whether that mention needed a
 * reply (`triage`): the answer, once known (from the store, or triaged in this process), or else
 * what decides it (its text, brands and terms), which the reply's classifier scores as well. So the
 * answer never depends on which worker classified the mention, or when.
 */
export interface MentionContext {
  needsReply?: readonly string[]
  /** The mention is older than the texts remembered: its needs are read from the store, where it is. */
  stored?: string
  text?: string
  brands?: readonly string[]
  terms?: readonly string[]
}

export class RecentPosts {
  private readonly posts = new Map<string, RecentPost>()
  /** Ids of the posts holding a text, oldest first. */
  private readonly texts = new Set<string>()
  constructor(
    private readonly capacity = REMEMBERED_POSTS,
    private readonly textCapacity = MENTION_TEXTS,
  ) {}

  /** Oldest first, so the newest are kept when there are more than the capacity. */
  add(post: RecentPost): void {
    this.posts.delete(post.id)
    this.posts.set(post.id, {
      id: post.id,
      source: post.source,
      brands: post.brands,
      createdAt: post.createdAt,
      ...(post.needsReply ? { needsReply: post.needsReply } : {}),
      ...(post.broadcastBy ? { broadcastBy: post.broadcastBy } : {}),
      ...(post.thread ? { thread: post.thread } : {}),
      ...(post.needsReply === undefined && post.text !== undefined && post.brands.length > 0
        ? { text: post.text, terms: post.terms ?? [] }
        : {}),
    })
    this.texts.delete(post.id)
    if (this.posts.get(post.id)!.text !== undefined) this.texts.add(post.id)
    if (this.texts.size > this.textCapacity) this.forgetText(this.texts.values().next().value!)
    if (this.posts.size > this.capacity) {
      const oldest = this.posts.keys().next().value!
      this.texts.delete(oldest)
      this.posts.delete(oldest)
    }
  }

  /** Once classified: which brands the post waits for a reply from (kept in place, not re-ordered). */
  markNeedsReply(id: string, brands: readonly string[]): void {
    const post = this.posts.get(id)
    if (!post) return
    post.needsReply = brands
    this.forgetText(id)
  }

  private forgetText(id: string): void {
    this.texts.delete(id)
    const post = this.posts.get(id)
    if (!post || post.text === undefined) return
    delete post.text
    delete post.terms
    // Its needs are known only to the store from now on.
    if (post.needsReply === undefined) post.storedNeeds = true
  }

  get(id: string): RecentPost | undefined {
    return this.posts.get(id)
  }

  /** Whether a reply to this post joins a conversation under a brand's own post. */
  inThread(id: string): boolean {
    const post = this.posts.get(id)
    return post !== undefined && (post.broadcastBy !== undefined || post.thread !== undefined)
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

/** For a brand's reply to a mention of the brand (linkReply): what its triage needs of that mention. */
export function mentionContext(post: Post, recent: RecentPosts): MentionContext | undefined {
  if (!post.answersMentionAt || !post.replyTo) return undefined
  const mention = recent.get(post.replyTo)
  if (!mention) return undefined
  if (mention.needsReply) return { needsReply: mention.needsReply }
  if (mention.storedNeeds) return { stored: mention.id }
  return mention.text === undefined
    ? { needsReply: [] }
    : { text: mention.text, brands: mention.brands, terms: mention.terms ?? [] }
}

/** The post, with its thread when it replies into a conversation under a brand's own post. */
export function linkThread(post: Post, recent: RecentPosts): Post {
  if (!post.replyTo) return post
  const parent = recent.get(post.replyTo)
  if (parent?.broadcastBy) return { ...post, thread: { root: parent.id, brand: parent.broadcastBy, depth: 1 } }
  if (parent?.thread) return { ...post, thread: { ...parent.thread, depth: parent.thread.depth + 1 } }
  return post
}

/** The post linked to its mention and its thread; remembered, so the events after it relate to it. */
export function relateOne(post: Post, recent: RecentPosts): Post {
  const linked = linkThread(linkReply(post, recent), recent)
  recent.add({ ...linked, ...(linked.ownBrand && !linked.replyTo ? { broadcastBy: linked.ownBrand } : {}) })
  return linked
}
