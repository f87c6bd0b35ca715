// The first stage, in arrival order: each event a source sent is checked (normalise), a post is
// matched to the tracked brands and related to the posts before it (a brand's reply to its
// mention, a reply into a brand's thread), an engagement update gets its post's brands, and a
// deletion its post's time. What comes out needs nothing from the events before it any more, so
// the next stage (scoring and storing) can run on several workers at once, in any order.
// It holds the one memory of the stream (recent posts): with a bus, it runs in the ingest process.
import { filter, map, type OperatorFunction } from 'rxjs'
import type { RelatedEvent } from '../contract.ts'
import type { SourceEvent, TrackedBrand } from '../schema.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'
import { compileTracking, matchOne } from '../transforms/match.ts'
import { normaliseDeletionOne, normaliseEngagementOne, normaliseOne } from '../transforms/normalise.ts'
import { attributeEngagement, mentionContext, type RecentPosts, relateOne } from '../transforms/relate.ts'

export interface RelateCounts {
  /** Posts about no tracked brand: left out (counted, not dead-lettered: they are not errors). */
  untracked: number
  /** Engagement updates for posts not seen lately, stored without brand and source. */
  unattributed: number
  /** Deletions of posts not seen lately (untracked, or older than relate remembers): nothing to do. */
  deletionsIgnored: number
}

export class Relater {
  private readonly matchers

  constructor(
    tracking: readonly TrackedBrand[],
    private readonly recent: RecentPosts,
    private readonly deadLetter: DeadLetter,
    private readonly counts: RelateCounts,
  ) {
    this.matchers = compileTracking(tracking)
  }

  /** The event related, or undefined when it goes no further (refused with why, untracked, or about nothing held). */
  relate(event: SourceEvent): RelatedEvent | undefined {
    if (event.kind === 'post') {
      const checked = normaliseOne(event.post)
      if (!checked.ok) return this.refuse(checked.reason, event.post)
      // A reply into a conversation under a brand's own post is kept even when it names no brand.
      const post =
        matchOne(checked.post, this.matchers) ??
        (checked.post.replyTo && this.recent.inThread(checked.post.replyTo)
          ? { ...checked.post, brands: [], terms: [] }
          : null)
      if (!post) {
        this.counts.untracked++
        return undefined
      }
      const linked = relateOne(post, this.recent)
      const mention = mentionContext(linked, this.recent)
      return { kind: 'post', post: linked, ...(mention ? { mention } : {}) }
    }
    if (event.kind === 'engagement') {
      const checked = normaliseEngagementOne(event.update)
      if (!checked.ok) return this.refuse(checked.reason, event.update)
      const update = attributeEngagement(checked.update, this.recent)
      if (update.source === '') this.counts.unattributed++
      return { kind: 'engagement', update }
    }
    const checked = normaliseDeletionOne({ postId: event.postId, at: event.at })
    if (!checked.ok) return this.refuse(checked.reason, { postId: event.postId, at: event.at })
    // Only posts seen lately (tracked ones, in flight or stored lately) can be held.
    const post = this.recent.get(checked.value.postId)
    if (!post) {
      this.counts.deletionsIgnored++
      return undefined
    }
    return { kind: 'delete', deletion: checked.value, createdAt: post.createdAt }
  }

  private refuse(reason: string, input: unknown): undefined {
    this.deadLetter.record('normalise', reason, input)
    return undefined
  }
}

export function relateEvents(relater: Relater): OperatorFunction<SourceEvent, RelatedEvent> {
  return (events$) =>
    events$.pipe(
      map((event) => relater.relate(event)),
      filter((event): event is RelatedEvent => event !== undefined),
    )
}
