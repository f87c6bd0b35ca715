// What the stages hand each other and what they tell the parts they are wired to, in one small
// module, so that sources, sinks and stages depend on it rather than on each other or on the
// wiring (pipeline.ts, bus/roles.ts).
import type { AttributedEngagement, Post, PostDeletion, ScoredPost } from './schema.ts'
import type { FeedName, FeedValues } from './live-feeds.ts'
import type { MentionContext } from './transforms/relate.ts'

/** An event ready to be scored and stored: what the bus carries between ingest and the workers. */
export type RelatedEvent =
  | { kind: 'post'; post: Post; mention?: MentionContext }
  | { kind: 'engagement'; update: AttributedEngagement }
  | { kind: 'delete'; deletion: PostDeletion; createdAt: string }

/** What the store now holds of an event, which the live figures count. */
export type Outcome = { post: ScoredPost; shown: boolean } | { engagement: AttributedEngagement }

/** What the pipeline tells of the events it follows (PipelineDeps.progress). */
export interface Progress {
  /** The event with this key goes on to a stage that finishes later. */
  taken(key: string): void
  /**
   * The pipeline is done with the event with this key: `stored` is what the store now holds of it
   * (absent when it was dropped or dead-lettered); `held` says the store held it already (a duplicate).
   */
  settled(key: string, stored?: Outcome, held?: boolean): void
  /** The store could not take the event now (it is down; `reason`): whoever holds it should try again later. */
  givenBack(key: string, reason?: string): void
  /** How many times the event's message has been delivered (1: this is the first). */
  deliveries(key: string): number
}

/** The key an event is followed by through the pipeline. */
export function eventKey(event: RelatedEvent): string {
  return event.kind === 'post'
    ? postKey(event.post.id)
    : event.kind === 'engagement'
      ? engagementKey(event.update.id)
      : deletionKey(event.deletion.postId)
}

export const postKey = (id: string) => `post:${id}`
export const engagementKey = (id: string) => `engagement:${id}`
export const deletionKey = (postId: string) => `delete:${postId}`

/**
 * Where the live figures go: the walls (socket.io), the alert webhooks, the relay to other
 * processes. One method for every feed of the table (live-feeds.ts).
 */
export interface Live {
  push<F extends FeedName>(feed: F, value: FeedValues[F]): void
}
