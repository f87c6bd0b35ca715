// Gives an engagement update its post's brands and source, so the store can count engagement per
// brand and source without a join. Posts are remembered once matched to brands (so an update that
// follows its post in the same stream finds it, however fast the stream), the most recent ones
// only (bounded): engagement for a post older than that is stored unattributed.
import { map, type OperatorFunction } from 'rxjs'
import type { EngagementUpdate, Post } from '../schema.ts'
import type { AttributedEngagement } from '../store/store.ts'

/** Posts remembered for attribution: about a day of a busy brand. */
export const ATTRIBUTION_POSTS = 500_000

export class RecentPosts {
  private readonly posts = new Map<string, Pick<AttributedEngagement, 'brands' | 'source'>>()
  constructor(private readonly capacity = ATTRIBUTION_POSTS) {}

  add(p: Post): void {
    this.posts.set(p.id, { brands: p.brands, source: p.source })
    if (this.posts.size > this.capacity) this.posts.delete(this.posts.keys().next().value!)
  }

  get(id: string) {
    return this.posts.get(id)
  }
}

export function attributeEngagement(update: EngagementUpdate, posts: RecentPosts): AttributedEngagement {
  return { ...update, ...(posts.get(update.postId) ?? { brands: [], source: '' }) }
}

export function attribute(posts: RecentPosts, onUnknown?: (update: EngagementUpdate) => void): OperatorFunction<EngagementUpdate, AttributedEngagement> {
  return map((update) => {
    const attributed = attributeEngagement(update, posts)
    if (attributed.source === '') onUnknown?.(update)
    return attributed
  })
}
