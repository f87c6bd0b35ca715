// Storage as the rest of Undertow sees it: embedded (chdb, in-process; the default) and server
// (@clickhouse/client) behind one interface, with every query shared (sql-store.ts).
import type { Reader } from './read-gate.ts'
import type { Recounter } from './recount.ts'
import type {
  Alert,
  AttributedEngagement,
  BrandMetrics,
  ConversationSeed,
  Dialogue,
  Emotion,
  Intent,
  LabelFilter,
  PostBucket,
  PostDeletion,
  RecentPost,
  ScoredPost,
  SourceName,
  WindowAggregate,
  WindowName,
} from '../schema.ts'
import type { LedgerSeed } from '../metrics/ledger.ts'

export interface AggregateQuery {
  brands?: readonly string[]
  /** Inclusive start and exclusive end, ISO 8601. */
  from?: string
  to?: string
  /** Instead of from/to: the last N minutes up to the newest stored minute. */
  lastMinutes?: number
  /** Window length: per minute (default) or per hour (`minute` is then the hour's start). */
  bucket?: 'minute' | 'hour'
  /** Only posts from this source (default: all). */
  source?: SourceName
}

export interface AudienceQuery {
  brand: string
  source?: SourceName
  from?: string
  to?: string
}

/** Who talked about a brand in a range: each author once. */
export interface Audience {
  authors: number
  /** Sum of the authors' followers (the most seen in range for each). */
  reach: number
}

/** One brand's metrics over a window of whole minutes, as the live ledger keeps them. */
export interface MetricsQuery {
  brand: string
  /** The brand's competitors, for share of voice. */
  rivals: readonly string[]
  /** One source, or all (absent). */
  source?: SourceName
  window: WindowName
  /** Start of the window's first minute and end of its last, ISO 8601 (minute boundaries). */
  from: string
  to: string
}

/** One brand's metrics per minute (or hour) of a range: each bucket a window of its own. */
export interface MetricSeriesQuery extends Omit<MetricsQuery, 'window'> {
  bucket?: 'minute' | 'hour'
}

export interface DialogueQuery {
  brand: string
  /** Range of the own posts, ISO 8601 (inclusive start, exclusive end). */
  from: string
  to: string
  /** Only replies before this time count; default: every reply stored. */
  asOf?: string
}

export interface AlertQuery {
  brand?: string
  /** Only the alert with this id. */
  id?: string
  /** Only alerts whose newest state is this one. */
  state?: Alert['state']
  from?: string
  to?: string
  /** Newest first, at most this many (default 100). */
  limit?: number
}

/** Which posts: every given filter must hold. */
export interface PostFilter {
  /** Only posts with these ids. */
  ids?: readonly string[]
  brand?: string
  labels?: readonly LabelFilter[]
  mixed?: boolean
  uncertain?: boolean
  /** Any of these intents. */
  intents?: readonly Intent[]
  /** Any of these emotions. */
  emotions?: readonly Emotion[]
  /** Contained in the text, case-insensitively. */
  text?: string
  source?: SourceName
  /** Leave out the brands' own posts (a team's feed holds what people said, not the brand's answers). */
  excludeOwn?: boolean
  from?: string
  to?: string
}

/** Middle-feedback search: the posts of a filter, newest first, a page at a time. */
export interface PostSearch extends PostFilter {
  /** 1-based. */
  page: number
  pageSize: number
}

/** The posts of a filter counted per minute or hour. */
export interface PostSeriesQuery extends PostFilter {
  bucket?: 'minute' | 'hour'
  /** At most this many buckets, oldest first (default: all). */
  limit?: number
}

export interface PostPage {
  /** Posts matching the filters, on all pages, counted up to a cap (SEARCH_COUNT_CAP). */
  total: number
  /** True when there are at least `total` matches (the cap), not exactly that many. */
  totalCapped: boolean
  posts: ScoredPost[]
}

export interface ResponseTimesQuery {
  brand: string
  /** Range of the mentions (not of the replies), ISO 8601, applied to whole minutes. */
  from?: string
  to?: string
  /** Only replies before this time count (what was known then); default: every reply stored. */
  asOf?: string
}

/**
 * How the brand answers the mentions that need a reply (metrics/replies.ts), over a time range of
 * those mentions: the same figures as the live Responsiveness over the same range.
 */
export interface ResponseTimes {
  mentions: number
  needingReply: number
  /** Mentions needing a reply with at least one reply from the brand's own accounts. */
  answered: number
  /** answered / needingReply; null when none needed one. */
  replyRate: number | null
  /** Time to the first reply, answered mentions only; null when none was answered. */
  medianSeconds: number | null
  p90Seconds: number | null
}

export interface DroppedPartition {
  table: string
  /** The day, YYYY-MM-DD. */
  partition: string
}

/** What the sinks write: each table by its one writer, every item once. */
export interface StoreWrites {
  /** Of these posts (the first of each id), those not stored yet. */
  unstoredPosts(posts: readonly ScoredPost[]): Promise<ScoredPost[]>
  /**
   * Stores the posts not stored yet (by id, also within the batch) and returns them: a post that
   * arrives twice is stored once. Single writer per table: the sink never runs two at once.
   * `checked`: the caller just asked unstoredPosts about exactly these, so the store skips asking.
   */
  insertPosts(posts: readonly ScoredPost[], options?: { checked?: boolean }): Promise<ScoredPost[]>
  /** The same for engagement updates, by update id. */
  unstoredEngagement(updates: readonly AttributedEngagement[]): Promise<AttributedEngagement[]>
  insertEngagement(
    updates: readonly AttributedEngagement[],
    options?: { checked?: boolean },
  ): Promise<AttributedEngagement[]>
  /** Deletions not yet stored, first of each post; then stored once, like posts. */
  unstoredDeletions(deletions: readonly PostDeletion[]): Promise<PostDeletion[]>
  insertDeletions(deletions: readonly PostDeletion[], options?: { checked?: boolean }): Promise<PostDeletion[]>
  /** Removes these posts (by id; their creation times bound the search) from the posts table; how many it held. */
  deletePosts(posts: readonly { id: string; createdAt: string }[]): Promise<number>
  /** The brands each of these stored posts (id and creation time) waited for a reply from (triage's answer, stored with it); absent ones are not stored. */
  needsReplyOf(posts: readonly { id: string; createdAt: string }[]): Promise<Map<string, string[]>>
  /** Of these post ids, those whose deletion is stored (by another worker, perhaps while they were written). */
  deletedAmong(postIds: readonly string[]): Promise<string[]>
  /** Stores alerts, or a new state of one (the newest version of an id wins). */
  insertAlerts(alerts: readonly Alert[]): Promise<void>
}

/** What a process reads back at start, so that its memory resumes where the last run stopped. */
export interface StoreSeeds {
  /** The newest `limit` posts, oldest first (to relate replies and engagement after a restart). */
  recentPosts(limit: number): Promise<RecentPost[]>
  /** Mentions that needed a reply and own posts since `sinceMs`, for responsiveness and dialogue to resume. */
  conversationSeed(sinceMs: number): Promise<ConversationSeed>
  /** The minutes and authors since `sinceMs`, for the live metrics to resume from after a restart. */
  ledgerSeed(sinceMs: number): Promise<LedgerSeed>
}

/**
 * The reads of history, under the read limits (limits.ts). `reader`: whom one is for, an API
 * client's key (request.caller) or WALL_READER; embedded reads take turns by it (read-gate.ts).
 * Without one, a read of the process's own.
 */
export interface StoreHistory {
  alerts(query: AlertQuery, reader?: Reader): Promise<Alert[]>
  audience(query: AudienceQuery, reader?: Reader): Promise<Audience>
  /** The same figures as the live metrics, from what is stored. */
  metrics(query: MetricsQuery, reader?: Reader): Promise<BrandMetrics>
  /** How the brand's own posts of a range started conversations (the same figures as live). */
  dialogue(query: DialogueQuery, reader?: Reader): Promise<Dialogue>
  /** Per minute (window `1m`) or hour (`1h`) of the range, the buckets with any mention or engagement, oldest first. */
  metricSeries(query: MetricSeriesQuery, reader?: Reader): Promise<BrandMetrics[]>
  countPosts(): Promise<number>
  /** createdAt of the newest stored post, or null when there is none. */
  latestPostTime(reader?: Reader): Promise<string | null>
  /** Per-brand windows of a minute or an hour, oldest first. */
  minuteAggregates(query: AggregateQuery, reader?: Reader): Promise<WindowAggregate[]>
  searchPosts(search: PostSearch, reader?: Reader): Promise<PostPage>
  /** The posts of a filter, counted up to `cap` (an answer of `cap` means at least that many). */
  countMatches(filter: PostFilter, cap: number, reader?: Reader): Promise<number>
  /** Every post of a filter, in the search's order, `pageSize` at a time (for exports: never all in memory). */
  scanPosts(filter: PostFilter, pageSize?: number, reader?: Reader): AsyncIterable<ScoredPost[]>
  /** The posts of a filter per minute or hour, by label; only buckets with posts, oldest first. */
  postSeries(query: PostSeriesQuery, reader?: Reader): Promise<PostBucket[]>
  responseTimes(query: ResponseTimesQuery, reader?: Reader): Promise<ResponseTimes>
}

/** The schema, retention, recounts and the connection. */
export interface StoreUpkeep {
  readonly mode: 'embedded' | 'server'
  /** Recounts of minutes a failed write's views may have missed (recount.ts), for /healthz. */
  readonly recounts?: Readonly<Record<string, number | boolean>>
  /** The recounts' own state: where several processes write, they take turns through its lock. */
  readonly recounter?: Recounter
  /** Creates or upgrades the schema; safe to run at every start. */
  migrate(): Promise<void>
  /** Drops every day partition older than `cutoff` (retention); returns what it dropped. */
  dropPartitionsBefore(cutoff: Date): Promise<DroppedPartition[]>
  ping(): Promise<boolean>
  close(): Promise<void>
}

/** Storage as the rest of Undertow sees it, by concern. */
export interface Store extends StoreUpkeep, StoreWrites, StoreSeeds, StoreHistory {}
