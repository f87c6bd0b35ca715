// What the stages hand each other and what they tell the parts they are wired to, in one small
// module, so that sources, sinks and stages depend on it rather than on each other or on the
// wiring (pipeline.ts, bus/roles.ts).
import type {
  Alert,
  AttributedEngagement,
  ConversationSeed,
  Post,
  PostDeletion,
  RecentPost,
  ScoredPost,
  TrackedBrand,
  WindowAggregate,
} from './schema.ts'
import type { SchedulerLike } from 'rxjs'
import type { FeedName, FeedValues } from './live-feeds.ts'
import type { LedgerSeed } from './metrics/ledger.ts'
import type { DeadLetter } from './sinks/deadletter.ts'
import type { Spool } from './sinks/spool.ts'
import type { Store } from './store/store.ts'
import type { Routes } from './transforms/route.ts'
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

/** What every stage is given, wherever it runs. */
export interface StageBasics {
  tracking: readonly TrackedBrand[]
  store: Store
  deadLetter: DeadLetter
  /** After the input stops, how long the sinks go on draining their spools (default: until done). */
  drainOnStopMs?: number
  scheduler?: SchedulerLike
}

/** The store's memory of the stream, so that the stages resume where the last run stopped. */
export interface Seeds {
  /** The newest stored posts, oldest first, so replies and engagement relate across a restart (relate). */
  recentPosts?: readonly RecentPost[]
  /** The recent stored windows, so live windows continue from what is stored (live). */
  initialWindows?: readonly WindowAggregate[]
  /** The last day of stored minutes and authors, so live metrics and risk baselines resume (live). */
  seed?: LedgerSeed
  /** Mentions waiting for replies and own posts, so responsiveness and dialogue resume (live). */
  conversations?: ConversationSeed
  /** Alerts still open when the last run stopped, newest first: they go on, and resolve in time (live). */
  openAlerts?: readonly Alert[]
}

/** How mentions are answered and routed, and how much of them the walls are sent. */
export interface Policies {
  /** Which team each intent goes to (default DEFAULT_ROUTES). */
  routes?: Routes
  /** Which mentions need a reply (every direct @-mention too?) and the reply target. */
  replies?: { allMentions?: boolean; targetMs?: number }
  /** Most posts of a brand the walls are sent a push (default LIVE_POSTS_PER_BRAND; Infinity sends all). */
  livePostsPerBrand?: number
}

/** Where each table's batches wait while the store is unreachable (see sinks/spool.ts). */
export interface Spools {
  posts?: Spool<ScoredPost>
  engagement?: Spool<AttributedEngagement>
  deletions?: Spool<PostDeletion>
  alerts?: Spool<Alert>
}
