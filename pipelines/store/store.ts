// Storage as the rest of Undertow sees it. Embedded (chdb, in-process) is the default; the
// storage issue adds a ClickHouse server mode (@clickhouse/client) behind the same interface.
import type { EngagementUpdate, Intent, Label, ScoredPost, SourceName, WindowAggregate } from '../schema.ts'

export interface AggregateQuery {
  brands?: readonly string[]
  /** Inclusive start and exclusive end, ISO 8601. */
  from?: string
  to?: string
  /** Instead of from/to: the last N minutes up to the newest stored minute. */
  lastMinutes?: number
}

/** Middle-feedback search: every given filter must hold; newest first, a page at a time. */
export interface PostSearch {
  brand?: string
  labels?: readonly Label[]
  mixed?: boolean
  uncertain?: boolean
  /** Any of these intents. */
  intents?: readonly Intent[]
  /** Contained in the text, case-insensitively. */
  text?: string
  source?: SourceName
  from?: string
  to?: string
  /** 1-based. */
  page: number
  pageSize: number
}

export interface PostPage {
  /** Posts matching the filters, on all pages. */
  total: number
  posts: ScoredPost[]
}

export interface DroppedPartition {
  table: string
  /** The day, YYYY-MM-DD. */
  partition: string
}

export interface Store {
  readonly mode: 'embedded' | 'server'
  /** Creates or upgrades the schema; safe to run at every start. */
  migrate(): Promise<void>
  insertPosts(posts: readonly ScoredPost[]): Promise<void>
  insertEngagement(updates: readonly EngagementUpdate[]): Promise<void>
  countPosts(): Promise<number>
  /** createdAt of the newest stored post, or null when there is none. */
  latestPostTime(): Promise<string | null>
  /** Per-brand, per-minute windows, oldest first. */
  minuteAggregates(query: AggregateQuery): Promise<WindowAggregate[]>
  searchPosts(search: PostSearch): Promise<PostPage>
  /** Drops every day partition older than `cutoff` (retention); returns what it dropped. */
  dropPartitionsBefore(cutoff: Date): Promise<DroppedPartition[]>
  ping(): Promise<boolean>
  close(): Promise<void>
}
