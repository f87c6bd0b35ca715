// Everything a Store does, written once over three primitives (read rows, run a statement, insert
// JSON rows) that each mode implements: embedded.ts (chdb) and server.ts (@clickhouse/client).
import type { Alert, ScoredPost, WindowAggregate } from '../schema.ts'
import type { RecentPost } from '../transforms/relate.ts'
import { MIGRATIONS, MIGRATIONS_TABLE, PRE_RELEASE_V1 } from './migrations.ts'
import {
  ALERTS,
  alertParams,
  AUDIENCE,
  audienceParams,
  COUNT_POSTS,
  COUNT_SEARCH,
  DAY_PARTITIONED,
  DAY_PARTITIONS,
  dropPartitionStatement,
  ENGAGEMENT_TOTALS,
  LATEST_POST,
  MINUTE_AGGREGATES,
  minuteAggregateParams,
  RECENT_POSTS,
  RESPONSE_TIMES,
  SEARCH_COUNT_CAP,
  responseTimesParams,
  SEARCH_POSTS,
  searchParams,
  STORED_ENGAGEMENT_IDS,
  STORED_POST_IDS,
  storedPostIdsParams,
} from './queries.ts'
import { aggregateFromRow, alertFromRow, alertRow, engagementRow, postFromRow, postRow } from './rows.ts'
import type { AggregateQuery, AlertQuery, AttributedEngagement, Audience, AudienceQuery, DroppedPartition, PostPage, PostSearch, ResponseTimes, ResponseTimesQuery, Store } from './store.ts'

export type Row = Record<string, unknown>

export abstract class SqlStore implements Store {
  abstract readonly mode: 'embedded' | 'server'

  /** Rows of a SELECT, with {name:Type} placeholders bound from `params`. */
  protected abstract rows<T = Row>(sql: string, params?: Record<string, unknown>): Promise<T[]>
  /** A statement without a result (DDL, ALTER). */
  protected abstract exec(sql: string): Promise<void>
  protected abstract insertRows(table: string, rows: readonly object[]): Promise<void>
  abstract ping(): Promise<boolean>
  abstract close(): Promise<void>

  /** Rows of an ad-hoc read (benchmarks, tests, tools); values only through `params`. */
  select<T = Row>(sql: string, params?: Record<string, unknown>): Promise<T[]> {
    return this.rows<T>(sql, params)
  }

  /** A raw bulk insert of rows as they are, without the duplicate check (benchmarks' baseline). */
  insertRowsUnchecked(table: string, rows: readonly object[]): Promise<void> {
    return this.insertRows(table, rows)
  }

  async migrate(): Promise<void> {
    await this.exec(MIGRATIONS_TABLE)
    const applied = await this.rows<{ version: number; name: string }>('SELECT version, name FROM schema_migrations')
    if (applied.some((m) => Number(m.version) === 1 && m.name === PRE_RELEASE_V1)) {
      throw new Error('the store holds data from a pre-release build of Undertow, whose schema this version cannot read: move its data folder away (DATA_DIR/clickhouse) or point Undertow at an empty database')
    }
    const done = new Set(applied.map((m) => Number(m.version)))
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue
      for (const statement of migration.statements) await this.exec(statement)
      await this.insertRows('schema_migrations', [{ version: migration.version, name: migration.name }])
    }
  }

  async insertPosts(posts: readonly ScoredPost[]): Promise<ScoredPost[]> {
    const fresh = unique(posts, (p) => p.id)
    if (fresh.length === 0) return []
    const stored = new Set<string>()
    for (const part of chunks(fresh, LOOKUP_CHUNK)) {
      const params = storedPostIdsParams(part.map((p) => p.id), part.map((p) => Date.parse(p.createdAt)))
      for (const row of await this.rows<{ id: string }>(STORED_POST_IDS, params)) stored.add(row.id)
    }
    const toStore = fresh.filter((p) => !stored.has(p.id))
    if (toStore.length > 0) await this.insertRows('posts', toStore.map(postRow))
    return toStore
  }

  async insertEngagement(updates: readonly AttributedEngagement[]): Promise<AttributedEngagement[]> {
    const fresh = unique(updates, (u) => u.id)
    if (fresh.length === 0) return []
    const stored = new Set<string>()
    for (const part of chunks(fresh, LOOKUP_CHUNK)) {
      const params = { posts: [...new Set(part.map((u) => u.postId))], ids: part.map((u) => u.id) }
      for (const row of await this.rows<{ id: string }>(STORED_ENGAGEMENT_IDS, params)) stored.add(row.id)
    }
    const toStore = fresh.filter((u) => !stored.has(u.id))
    if (toStore.length > 0) await this.insertRows('engagement', toStore.map(engagementRow))
    return toStore
  }

  async insertAlerts(alerts: readonly Alert[]): Promise<void> {
    if (alerts.length > 0) await this.insertRows('alerts', alerts.map(alertRow))
  }

  async alerts(query: AlertQuery): Promise<Alert[]> {
    return (await this.rows(ALERTS, alertParams(query))).map(alertFromRow)
  }

  async countPosts(): Promise<number> {
    const [row] = await this.rows<{ n: string }>(COUNT_POSTS)
    return Number(row?.n ?? 0)
  }

  async latestPostTime(): Promise<string | null> {
    const [row] = await this.rows<{ t: string; n: string }>(LATEST_POST)
    return row && Number(row.n) > 0 ? new Date(Number(row.t)).toISOString() : null
  }

  async minuteAggregates(query: AggregateQuery): Promise<WindowAggregate[]> {
    return (await this.rows<Record<string, string | number>>(MINUTE_AGGREGATES, minuteAggregateParams(query))).map(aggregateFromRow)
  }

  async searchPosts(search: PostSearch): Promise<PostPage> {
    const params = searchParams(search)
    const [count] = await this.rows<{ n: string }>(COUNT_SEARCH, params)
    const posts = (await this.rows(SEARCH_POSTS, params)).map(postFromRow)
    if (posts.length > 0) {
      // Counts as of now: the post's own at post time plus every update that arrived since.
      const totals = await this.rows<Record<string, string>>(ENGAGEMENT_TOTALS, { posts: posts.map((p) => p.id) })
      const byPost = new Map(totals.map((t) => [t.post_id, t]))
      for (const post of posts) {
        const more = byPost.get(post.id)
        if (!more) continue
        for (const key of ['likes', 'reposts', 'replies', 'quotes'] as const) post.engagement[key] += Number(more[key])
      }
    }
    const total = Number(count?.n ?? 0)
    return { total, totalCapped: total >= SEARCH_COUNT_CAP, posts }
  }

  async recentPosts(limit: number): Promise<RecentPost[]> {
    const rows = await this.rows<{ id: string; source: RecentPost['source']; brands: string[]; created_ms: string }>(RECENT_POSTS, { limit })
    return rows.reverse().map((r) => ({ id: r.id, source: r.source, brands: r.brands, createdAt: new Date(Number(r.created_ms)).toISOString() }))
  }

  async responseTimes(query: ResponseTimesQuery): Promise<ResponseTimes> {
    const [row] = await this.rows<Record<string, string | number>>(RESPONSE_TIMES, responseTimesParams(query))
    const mentions = Number(row?.mentions ?? 0)
    const answered = Number(row?.answered ?? 0)
    const seconds = (key: string) => (answered > 0 ? Number(row?.[key]) / 1000 : null)
    return { mentions, answered, replyRate: mentions > 0 ? answered / mentions : 0, medianSeconds: seconds('median_ms'), p90Seconds: seconds('p90_ms') }
  }

  async audience(query: AudienceQuery): Promise<Audience> {
    const [row] = await this.rows<{ authors: string; reach: string }>(AUDIENCE, audienceParams(query))
    return { authors: Number(row?.authors ?? 0), reach: Number(row?.reach ?? 0) }
  }

  async dropPartitionsBefore(cutoff: Date): Promise<DroppedPartition[]> {
    const day = cutoff.toISOString().slice(0, 10)
    const old = (await this.rows<DroppedPartition>(DAY_PARTITIONS, { tables: DAY_PARTITIONED })).filter((p) => p.partition < day)
    for (const p of old) await this.exec(dropPartitionStatement(p.table, p.partition))
    return old
  }
}

/** Ids per duplicate lookup: a whole sink batch (server mode raises max_query_size to fit it). */
const LOOKUP_CHUNK = 5_000

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** The first of each key, in order. */
function unique<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>()
  return items.filter((item) => {
    const k = key(item)
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}
