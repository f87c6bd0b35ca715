// Embedded mode: ClickHouse in-process through chdb, data under DATA_DIR. libchdb binds one data
// directory per process, so this class is the only place that opens a chdb Session.
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { Session } from 'chdb'
import type { EngagementUpdate, ScoredPost, WindowAggregate } from '../schema.ts'
import { MIGRATIONS, MIGRATIONS_TABLE } from './migrations.ts'
import { COUNT_POSTS, COUNT_SEARCH, DAY_PARTITIONED, DAY_PARTITIONS, dropPartitionStatement, LATEST_POST, MINUTE_AGGREGATES, minuteAggregateParams, RESPONSE_TIMES, responseTimesParams, SEARCH_POSTS, searchParams } from './queries.ts'
import { aggregateFromRow, engagementRow, postFromRow, postRow, toJsonEachRow } from './rows.ts'
import type { AggregateQuery, DroppedPartition, PostPage, PostSearch, ResponseTimes, ResponseTimesQuery, Store } from './store.ts'

const INSERT_SETTINGS = { date_time_input_format: 'best_effort' }

export class EmbeddedStore implements Store {
  readonly mode = 'embedded'
  private readonly session: Session

  constructor(readonly dataDir: string) {
    const path = resolve(dataDir, 'clickhouse')
    mkdirSync(path, { recursive: true })
    this.session = new Session(path)
  }

  async migrate(): Promise<void> {
    await this.session.queryAsync(MIGRATIONS_TABLE)
    const applied = new Set((await this.rows<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)))
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue
      for (const statement of migration.statements) await this.session.queryAsync(statement)
      await this.session.queryBindAsync('INSERT INTO schema_migrations (version, name) VALUES ({v:UInt32}, {n:String})', { v: migration.version, n: migration.name })
    }
  }

  async insertPosts(posts: readonly ScoredPost[]): Promise<void> {
    if (posts.length === 0) return
    await this.session.insert({ table: 'posts', format: 'JSONEachRow', values: toJsonEachRow(posts.map(postRow)), settings: INSERT_SETTINGS })
  }

  async insertEngagement(updates: readonly EngagementUpdate[]): Promise<void> {
    if (updates.length === 0) return
    await this.session.insert({ table: 'engagement', format: 'JSONEachRow', values: toJsonEachRow(updates.map(engagementRow)), settings: INSERT_SETTINGS })
  }

  async countPosts(): Promise<number> {
    const [row] = await this.rows<{ n: string }>(COUNT_POSTS)
    return Number(row?.n ?? 0)
  }

  async latestPostTime(): Promise<string | null> {
    const [row] = await this.rows<{ t: string; n: string }>(LATEST_POST)
    return row && Number(row.n) > 0 ? new Date(row.t).toISOString() : null
  }

  async minuteAggregates(query: AggregateQuery): Promise<WindowAggregate[]> {
    return (await this.rows<Record<string, string>>(MINUTE_AGGREGATES, minuteAggregateParams(query))).map(aggregateFromRow)
  }

  async searchPosts(search: PostSearch): Promise<PostPage> {
    const params = searchParams(search)
    const [count] = await this.rows<{ n: string }>(COUNT_SEARCH, params)
    const rows = await this.rows<Record<string, unknown>>(SEARCH_POSTS, params)
    return { total: Number(count?.n ?? 0), posts: rows.map(postFromRow) }
  }

  async responseTimes(query: ResponseTimesQuery): Promise<ResponseTimes> {
    const [row] = await this.rows<Record<string, string | number>>(RESPONSE_TIMES, responseTimesParams(query))
    const mentions = Number(row?.mentions ?? 0)
    const answered = Number(row?.answered ?? 0)
    const seconds = (key: string) => (answered > 0 ? Number(row?.[key]) / 1000 : null)
    return { mentions, answered, replyRate: mentions > 0 ? answered / mentions : 0, medianSeconds: seconds('median_ms'), p90Seconds: seconds('p90_ms') }
  }

  async dropPartitionsBefore(cutoff: Date): Promise<DroppedPartition[]> {
    const day = cutoff.toISOString().slice(0, 10)
    const old = (await this.rows<DroppedPartition>(DAY_PARTITIONS, { tables: DAY_PARTITIONED })).filter((p) => p.partition < day)
    for (const p of old) await this.session.queryAsync(dropPartitionStatement(p.table, p.partition))
    return old
  }

  async ping(): Promise<boolean> {
    try {
      await this.session.queryAsync('SELECT 1')
      return true
    } catch {
      return false
    }
  }

  async close(): Promise<void> {
    this.session.close()
  }

  private async rows<T>(sql: string, params?: object): Promise<T[]> {
    const result = params
      ? await this.session.queryBindAsync(sql, params, { format: 'JSONEachRow' })
      : await this.session.queryAsync(sql, { format: 'JSONEachRow' })
    const text = result.text().trim()
    return text ? text.split('\n').map((line) => JSON.parse(line) as T) : []
  }
}
