// Everything a Store does, written once over three primitives (read rows, run a statement, insert
// JSON rows) that each mode implements: embedded.ts (chdb) and server.ts (@clickhouse/client).
import { minuteStartS } from '../time.ts'
import { type Counts, derive, emptyCounts } from '../metrics/definition.ts'
import { EMOTIONS, INTENTS } from '../vocabulary.ts'
import { summarise } from '../metrics/dialogue.ts'
import type { LedgerSeed } from '../metrics/ledger.ts'
import type {
  Alert,
  BrandMetrics,
  Dialogue,
  PostBucket,
  PostDeletion,
  ScoredPost,
  SourceName,
  WindowAggregate,
  AttributedEngagement,
  ConversationSeed,
  RecentPost,
} from '../schema.ts'
import { ALL_SOURCES } from '../schema.ts'
import { MIGRATIONS, MIGRATIONS_TABLE, PRE_RELEASE_V1 } from './migrations.ts'
import {
  ALERTS,
  alertParams,
  AUDIENCE,
  audienceParams,
  DIALOGUE,
  range,
  timeBound,
  SEED_ANSWERS,
  SEED_MENTIONS,
  SEED_OWN_POSTS,
  SEED_THREAD_REPLIES,
  LEDGER_AUTHORS,
  LEDGER_MINUTES,
  METRIC_COUNTS,
  METRIC_SERIES_AUDIENCE,
  METRIC_SERIES_COUNTS,
  metricsParams,
  COUNT_POSTS,
  countSearchQuery,
  DAY_PARTITIONED,
  DAY_PARTITIONS,
  DELETE_POSTS,
  dropPartitionStatement,
  ENGAGEMENT_TOTALS,
  LATEST_POST,
  MINUTE_AGGREGATES,
  POSTS_AMONG,
  minuteAggregateParams,
  NEWEST_POSTS,
  RESPONSE_TIMES,
  responseTimesParams,
  filterParams,
  postSeriesQuery,
  scanPostsQuery,
  searchPostsQuery,
  searchParams,
  STORED_DELETION_IDS,
  NEEDS_REPLY_OF,
  STORED_ENGAGEMENT_IDS,
  STORED_POST_IDS,
  storedPostIdsParams,
} from './queries.ts'
import { chunks } from './lists.ts'
import { MAX_RESULT_ROWS, type ReadOptions } from './limits.ts'
import type { Reader } from './read-gate.ts'
import { COUNTED_TABLES, Recounter, type Writes } from './recount.ts'
import { aggregateFromRow, alertFromRow, alertRow, deletionRow, engagementRow, postFromRow, postRow } from './rows.ts'
import type {
  AggregateQuery,
  AlertQuery,
  Audience,
  AudienceQuery,
  DialogueQuery,
  MetricSeriesQuery,
  MetricsQuery,
  DroppedPartition,
  PostFilter,
  PostPage,
  PostSearch,
  PostSeriesQuery,
  ResponseTimes,
  ResponseTimesQuery,
  Store,
} from './store.ts'

export type Row = Record<string, unknown>

/** The newest minutes recounted after a start (see migrate). */
const RECOUNT_AT_START = 5

export interface InsertOptions {
  /** The caller has just checked these with unstored*() and is the table's one writer. */
  checked?: boolean
}

/** How a table written once per id is written and asked about. */
interface TableSpec<T> {
  table: string
  id: (item: T) => string
  timeMs: (item: T) => number
  row: (item: T) => object
  /** Query for the newest time stored (epoch ms, as `t`). */
  newest: string
  /** Query for the ids of `lookupParams(candidates)` that the table holds. */
  lookup: string
  lookupParams: (candidates: T[]) => Record<string, unknown>
  /** What a failed write of these items may have left uncounted by the views (recount.ts). */
  counted?: (items: readonly T[]) => { minutesS: number[]; replies: { id: string; createdMs: number }[] }
}

const POSTS: TableSpec<ScoredPost> = {
  table: 'posts',
  id: (p) => p.id,
  timeMs: (p) => Date.parse(p.createdAt),
  row: postRow,
  newest: 'SELECT max(created_ms) AS t FROM posts',
  lookup: STORED_POST_IDS,
  lookupParams: (posts) =>
    storedPostIdsParams(
      posts.map((p) => p.id),
      posts.map((p) => Date.parse(p.createdAt)),
    ),
  counted: (posts) => ({
    minutesS: posts.map((p) => minuteStartS(Date.parse(p.createdAt))),
    replies: posts
      .filter((p) => p.ownBrand && p.replyTo && p.answersMentionAt)
      .map((p) => ({ id: p.id, createdMs: Date.parse(p.createdAt) })),
  }),
}

const ENGAGEMENT: TableSpec<AttributedEngagement> = {
  table: 'engagement',
  id: (u) => u.id,
  timeMs: (u) => Date.parse(u.at),
  row: engagementRow,
  newest: 'SELECT max(at_ms) AS t FROM engagement',
  lookup: STORED_ENGAGEMENT_IDS,
  lookupParams: (updates) => ({ posts: [...new Set(updates.map((u) => u.postId))], ids: updates.map((u) => u.id) }),
  counted: (updates) => ({ minutesS: updates.map((u) => minuteStartS(Date.parse(u.at))), replies: [] }),
}

const DELETIONS: TableSpec<PostDeletion> = {
  table: 'post_deletions',
  id: (d) => d.postId,
  timeMs: (d) => Date.parse(d.at),
  row: deletionRow,
  newest: 'SELECT max(at_ms) AS t FROM post_deletions',
  lookup: STORED_DELETION_IDS,
  lookupParams: (deletions) => ({ ids: deletions.map((d) => d.postId) }),
}

export abstract class SqlStore implements Store {
  abstract readonly mode: 'embedded' | 'server'
  /** Per table: no stored row is newer than this (epoch ms); see insertOnce. */
  private readonly newest = new Map<string, number>()
  /**
   * Several processes write the same tables (workers around the bus): what one process has written
   * says nothing of what the others have, so every item is asked about (see `unstored`).
   */
  sharedWriters = false

  /**
   * Rows of a SELECT, with {name:Type} placeholders bound from `params`. With `read`, an API read:
   * under the read limits (limits.ts), and in embedded mode behind the sink's writes.
   */
  protected abstract rows<T = Row>(sql: string, params?: Record<string, unknown>, read?: ReadOptions): Promise<T[]>
  /** A statement without a result (DDL, ALTER). */
  protected abstract exec(sql: string, params?: Record<string, unknown>): Promise<void>
  protected abstract insertRows(table: string, rows: readonly object[]): Promise<void>
  abstract ping(): Promise<boolean>
  abstract close(): Promise<void>

  /** Rows of an ad-hoc read (benchmarks, tests, tools); values only through `params`; with `read`, as an API read. */
  select<T = Row>(sql: string, params?: Record<string, unknown>, read?: ReadOptions): Promise<T[]> {
    return this.rows<T>(sql, params, read)
  }

  /** An API read (a route's question): limited, and behind the writes. */
  private read<T = Row>(sql: string, params?: Record<string, unknown>, options: ReadOptions = {}): Promise<T[]> {
    return this.rows<T>(sql, params, options)
  }

  /** A raw bulk insert of rows as they are, without the duplicate check (benchmarks' baseline). */
  insertRowsUnchecked(table: string, rows: readonly object[]): Promise<void> {
    return this.insertRows(table, rows)
  }

  /** Applies the migrations not yet applied, in order; `through` stops after that version (tests of an upgrade). */
  async migrate(options: { through?: number } = {}): Promise<void> {
    await this.exec(MIGRATIONS_TABLE)
    const applied = await this.rows<{ version: number; name: string }>('SELECT version, name FROM schema_migrations')
    if (applied.some((m) => Number(m.version) === 1 && m.name === PRE_RELEASE_V1)) {
      throw new Error(
        'the store holds data from a pre-release build of Undertow, whose schema this version cannot read: move its data folder away (DATA_DIR/clickhouse) or point Undertow at an empty database',
      )
    }
    const done = new Set(applied.map((m) => Number(m.version)))
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version) || migration.version > (options.through ?? Infinity)) continue
      for (const statement of migration.statements) if (!(await this.alreadyDone(statement))) await this.exec(statement)
      // Every column given: 18.x fills an omitted one with its type's default, not its DEFAULT.
      await this.insertRows('schema_migrations', [
        { version: migration.version, name: migration.name, applied_at: Math.floor(Date.now() / 1000) },
      ])
    }
    this.newestToRecount = true
  }

  /**
   * A process killed mid-write leaves no note of it (in embedded mode the engine dies with it), and
   * a live stream writes its newest minutes: after a start, those are noted before the first write
   * (a process that only reads has nothing to recount).
   */
  private newestToRecount = false

  private async noteNewestMinutes(): Promise<void> {
    if (!this.newestToRecount) return
    this.newestToRecount = false
    try {
      for (const spec of [POSTS, ENGAGEMENT]) {
        const [row] = await this.rows<{ t: string }>(spec.newest)
        const last = Math.floor(Number(row?.t ?? 0) / 60_000) * 60
        if (last > 0) this.recounter.note(Array.from({ length: RECOUNT_AT_START }, (_, i) => last - i * 60))
      }
    } catch {
      this.newestToRecount = true
    }
  }

  /**
   * Whether a statement of a migration that stopped half way (a crash, a server gone) took effect
   * already: a column it adds exists, or a table it copies from is gone (dropped after the copy).
   * CREATE ... IF NOT EXISTS and DROP ... IF EXISTS are safe to run again as they are.
   */
  private async alreadyDone(statement: string): Promise<boolean> {
    const added = /^ALTER TABLE (\w+) ADD COLUMN (\w+)/.exec(statement)
    if (added)
      return (
        (
          await this.rows(
            `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table:String} AND name = {column:String}`,
            { table: added[1], column: added[2] },
          )
        ).length > 0
      )
    const copied = /^INSERT INTO \w+ [\s\S]*?FROM (\w+)\s*$/.exec(statement.trim())
    if (copied)
      return (
        (
          await this.rows(
            `SELECT name FROM system.tables WHERE database = currentDatabase() AND name = {table:String}`,
            { table: copied[1] },
          )
        ).length === 0
      )
    return false
  }

  /**
   * Posts not yet stored, and not deleted by their authors (a replay after a crash must not bring
   * one back). Only a post created before the newest stored deletion can have one, so a live
   * stream's new posts skip that question too.
   */
  async unstoredPosts(posts: readonly ScoredPost[]): Promise<ScoredPost[]> {
    const fresh = await this.unstored(POSTS, posts)
    if (fresh.length === 0) return fresh
    const newestDeletion = await this.newestHeld(DELETIONS)
    // An hour of slack: a deletion's time is when it was heard of, on another clock than the post's.
    const candidates = fresh.filter((p) => Date.parse(p.createdAt) <= newestDeletion + 3_600_000)
    if (candidates.length === 0) return fresh
    const deleted = new Set(
      (await this.rows<{ id: string }>(STORED_DELETION_IDS, { ids: candidates.map((p) => p.id) })).map((r) => r.id),
    )
    return deleted.size === 0 ? fresh : fresh.filter((p) => !deleted.has(p.id))
  }

  async insertPosts(posts: readonly ScoredPost[], options: InsertOptions = {}): Promise<ScoredPost[]> {
    return this.insertOnce(POSTS, options.checked ? posts : await this.unstoredPosts(posts), { checked: true })
  }

  unstoredEngagement(updates: readonly AttributedEngagement[]): Promise<AttributedEngagement[]> {
    return this.unstored(ENGAGEMENT, updates)
  }

  insertEngagement(
    updates: readonly AttributedEngagement[],
    options: InsertOptions = {},
  ): Promise<AttributedEngagement[]> {
    return this.insertOnce(ENGAGEMENT, updates, options)
  }

  unstoredDeletions(deletions: readonly PostDeletion[]): Promise<PostDeletion[]> {
    return this.unstored(DELETIONS, deletions)
  }

  insertDeletions(deletions: readonly PostDeletion[], options: InsertOptions = {}): Promise<PostDeletion[]> {
    return this.insertOnce(DELETIONS, deletions, options)
  }

  async needsReplyOf(posts: readonly { id: string; createdAt: string }[]): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>()
    for (const part of chunks(posts, LOOKUP_CHUNK)) {
      const params = storedPostIdsParams(
        part.map((p) => p.id),
        part.map((p) => Date.parse(p.createdAt)),
      )
      for (const row of await this.rows<{ id: string; needs_reply: string[] }>(NEEDS_REPLY_OF, params))
        found.set(row.id, row.needs_reply)
    }
    return found
  }

  async deletedAmong(postIds: readonly string[]): Promise<string[]> {
    const deleted: string[] = []
    for (const part of chunks(postIds, LOOKUP_CHUNK))
      for (const row of await this.rows<{ id: string }>(STORED_DELETION_IDS, { ids: part })) deleted.push(row.id)
    return deleted
  }

  async deletePosts(posts: readonly { id: string; createdAt: string }[]): Promise<number> {
    // By day, in chunks: each statement's time bounds stay within one partition, and its id list
    // within the query size limit, however many posts wait.
    const byDay = new Map<string, { id: string; createdAt: string }[]>()
    for (const p of posts) {
      const day = p.createdAt.slice(0, 10)
      const list = byDay.get(day)
      if (list) list.push(p)
      else byDay.set(day, [p])
    }
    let held = 0
    for (const day of byDay.values()) {
      for (const part of chunks(day, LOOKUP_CHUNK)) {
        const params = storedPostIdsParams(
          part.map((p) => p.id),
          part.map((p) => Date.parse(p.createdAt)),
        )
        const [row] = await this.rows<{ n: string }>(POSTS_AMONG, params)
        const n = Number(row?.n ?? 0)
        if (n > 0) await this.exec(DELETE_POSTS, params)
        held += n
      }
    }
    return held
  }

  /**
   * Of `items` (first of each id), those the table does not hold. Asking the table costs a query,
   * so it is asked only about items no newer than the newest row it can hold: a live stream's new
   * items are newer than anything stored, and skip the question. That holds because the sink is
   * each table's one writer, and insertOnce raises the newest time before each write, so a retry
   * after a write that failed (perhaps after landing) asks about all of its items. With shared
   * writers, every item is asked about.
   */
  private async unstored<T>(spec: TableSpec<T>, items: readonly T[]): Promise<T[]> {
    const fresh = unique(items, spec.id)
    if (fresh.length === 0) return []
    const newest = await this.newestHeld(spec)
    const candidates = fresh.filter((item) => spec.timeMs(item) <= newest)
    const held = new Set<string>()
    for (const part of chunks(candidates, LOOKUP_CHUNK)) {
      for (const row of await this.rows<{ id: string }>(spec.lookup, spec.lookupParams(part))) held.add(row.id)
    }
    if (held.size === 0) return fresh
    // Held already: a replay after a crash, or a retry after a write that failed after landing,
    // perhaps without its views' rows (recount.ts).
    if (spec.counted) {
      const { minutesS, replies } = spec.counted(fresh.filter((item) => held.has(spec.id(item))))
      this.recounter.note(minutesS, replies)
    }
    return fresh.filter((item) => !held.has(spec.id(item)))
  }

  private async insertOnce<T>(spec: TableSpec<T>, items: readonly T[], options: InsertOptions): Promise<T[]> {
    const toStore = options.checked ? unique(items, spec.id) : await this.unstored(spec, items)
    if (toStore.length === 0) {
      // The store answered: a retry that found its rows held is the moment to recount them.
      await this.noteNewestMinutes()
      this.recounter.start()
      return []
    }
    await this.noteNewestMinutes()
    const newest = this.newest.get(spec.table) ?? (await this.newestStored(spec))
    this.newest.set(
      spec.table,
      toStore.reduce((max, item) => Math.max(max, spec.timeMs(item)), newest),
    )
    try {
      await this.insertRows(spec.table, toStore.map(spec.row))
    } catch (error) {
      // Its part may be stored and its views' not (recount.ts): recounted once the store answers.
      if (spec.counted) {
        const { minutesS, replies } = spec.counted(toStore)
        this.recounter.note(minutesS, replies)
      }
      throw error
    }
    this.recounter.start()
    return toStore
  }

  /** Recounts what failed writes may have left uncounted by the views (recount.ts). */
  readonly recounter: Recounter = new Recounter({
    rows: (sql, params) => this.rows(sql, params),
    insertRows: (table, rows) => this.insertRows(table, rows),
    writes: () => this.writes(),
  })

  /** What recounts have done, for /healthz. */
  get recounts(): Readonly<Recounter['counts'] & { pending: boolean; notNoted: number }> {
    return { ...this.recounter.counts, pending: this.recounter.pending, notNoted: this.recounter.uncertain.dropped }
  }

  /** A condition on system.processes that names a running insert into `table`. */
  protected abstract insertInto(table: string): string

  /** Writes to the counted tables now, and the inserts started so far (see recount.ts). */
  protected async writes(): Promise<Writes> {
    const running = COUNTED_TABLES.map((t) => this.insertInto(t)).join(' OR ')
    const [row] = await this.rows<{ running: string; started: string }>(
      `SELECT (SELECT count() FROM system.processes WHERE ${running}) AS running, (SELECT sum(value) FROM system.events WHERE event = 'InsertQuery') AS started`,
    )
    return { running: Number(row?.running ?? 0) > 0, started: Number(row?.started ?? 0) }
  }

  /** The newest time the table can hold, as far as this process knows: unbounded with shared writers. */
  private async newestHeld(spec: Pick<TableSpec<never>, 'table' | 'newest'>): Promise<number> {
    if (this.sharedWriters) return Number.POSITIVE_INFINITY
    return this.newest.get(spec.table) ?? (await this.newestStored(spec))
  }

  private async newestStored(spec: Pick<TableSpec<never>, 'table' | 'newest'>): Promise<number> {
    const [row] = await this.rows<{ t: string }>(spec.newest)
    const newest = Number(row?.t ?? 0)
    this.newest.set(spec.table, newest)
    return newest
  }

  async insertAlerts(alerts: readonly Alert[]): Promise<void> {
    if (alerts.length > 0) await this.insertRows('alerts', alerts.map(alertRow))
  }

  async alerts(query: AlertQuery, reader?: Reader): Promise<Alert[]> {
    return (await this.read(ALERTS, alertParams(query), { reader })).map(alertFromRow)
  }

  async countPosts(): Promise<number> {
    const [row] = await this.read<{ n: string }>(COUNT_POSTS)
    return Number(row?.n ?? 0)
  }

  async latestPostTime(reader?: Reader): Promise<string | null> {
    const [row] = await this.read<{ t: string }>(LATEST_POST, undefined, { reader })
    return row ? new Date(Number(row.t)).toISOString() : null
  }

  async minuteAggregates(query: AggregateQuery, reader?: Reader): Promise<WindowAggregate[]> {
    return (
      await this.read<Record<string, string | number>>(MINUTE_AGGREGATES, minuteAggregateParams(query), {
        maxRows: MAX_RESULT_ROWS,
        reader,
      })
    ).map(aggregateFromRow)
  }

  async searchPosts(search: PostSearch, reader?: Reader): Promise<PostPage> {
    const params = searchParams(search)
    const rows = await this.read(searchPostsQuery(search), params, { maxRows: params.limit, reader })
    const posts = rows.slice(0, search.pageSize).map(postFromRow)
    // A page with no row after it is the last one: it tells the total exactly, without counting.
    const last = rows.length <= search.pageSize && (posts.length > 0 || search.page === 1)
    // Rows that reach the count's limit already tell its answer ("at least"): deep pages skip it.
    const known = params.offset + rows.length
    const counted = last
      ? 0
      : known >= params.cap
        ? known
        : Number((await this.read<{ n: string }>(countSearchQuery(search), params, { reader }))[0]?.n ?? 0)
    await this.addEngagement(posts, reader)
    if (last) return { total: params.offset + posts.length, totalCapped: false, posts }
    // Counted up to the limit: reaching it means "at least this many" (and a next page).
    return counted >= params.cap
      ? { total: params.cap - 1, totalCapped: true, posts }
      : { total: counted, totalCapped: false, posts }
  }

  async countMatches(filter: PostFilter, cap: number, reader?: Reader): Promise<number> {
    const [row] = await this.read<{ n: string }>(countSearchQuery(filter), { ...filterParams(filter), cap }, { reader })
    return Number(row?.n ?? 0)
  }

  async *scanPosts(filter: PostFilter, pageSize = SCAN_PAGE, reader?: Reader): AsyncGenerator<ScoredPost[]> {
    const params = { ...filterParams(filter), limit: pageSize, afterS: 0, afterMs: 0, afterId: '' }
    for (let after = false; ; after = true) {
      const posts = (await this.read(scanPostsQuery(filter, after), params, { maxRows: pageSize, reader })).map(
        postFromRow,
      )
      if (posts.length === 0) return
      await this.addEngagement(posts, reader)
      yield posts
      if (posts.length < pageSize) return
      const last = posts.at(-1)!
      const ms = Date.parse(last.createdAt)
      Object.assign(params, { afterS: Math.floor(ms / 1000), afterMs: ms, afterId: last.id })
    }
  }

  async postSeries(query: PostSeriesQuery, reader?: Reader): Promise<PostBucket[]> {
    const params = {
      ...filterParams(query),
      bucket: query.bucket === 'hour' ? 60 : 1,
      limit: query.limit ?? UINT32_MAX,
    }
    const rows = await this.read<Record<string, string>>(postSeriesQuery(query), params, {
      maxRows: Math.min(params.limit, MAX_RESULT_ROWS),
      reader,
    })
    return rows.map((r) => ({
      minute: new Date(Number(r.start) * 1000).toISOString(),
      posts: Number(r.posts),
      negative: Number(r.negative),
      neutral: Number(r.neutral),
      positive: Number(r.positive),
      unscored: Number(r.unscored),
    }))
  }

  /** Counts as of now: each post's own at post time plus every update that arrived since. */
  private async addEngagement(posts: ScoredPost[], reader: Reader): Promise<void> {
    if (posts.length === 0) return
    const totals = await this.read<Record<string, string>>(
      ENGAGEMENT_TOTALS,
      { posts: posts.map((p) => p.id) },
      { reader },
    )
    const byPost = new Map(totals.map((t) => [t.post_id, t]))
    for (const post of posts) {
      const more = byPost.get(post.id)
      if (!more) continue
      for (const key of ['likes', 'reposts', 'replies', 'quotes'] as const) post.engagement[key] += Number(more[key])
    }
  }

  async recentPosts(limit: number): Promise<RecentPost[]> {
    const rows = await this.rows<
      Record<string, string> & { source: RecentPost['source']; brands: string[]; needs_reply: string[] }
    >(NEWEST_POSTS, { limit })
    return rows.reverse().map((r) => ({
      id: r.id!,
      source: r.source,
      brands: r.brands,
      createdAt: new Date(Number(r.created_ms)).toISOString(),
      ...(r.needs_reply.length > 0 ? { needsReply: r.needs_reply } : {}),
      ...(r.own_brand && !r.reply_to ? { broadcastBy: r.own_brand } : {}),
      ...(r.thread_root
        ? { thread: { root: r.thread_root, brand: r.thread_brand!, depth: Number(r.thread_depth) } }
        : {}),
    }))
  }

  async responseTimes(query: ResponseTimesQuery, reader?: Reader): Promise<ResponseTimes> {
    const [row] = await this.read<Record<string, string | number>>(RESPONSE_TIMES, responseTimesParams(query), {
      reader,
    })
    const mentions = Number(row?.mentions ?? 0)
    const needingReply = Number(row?.needing_reply ?? 0)
    const answered = Number(row?.answered ?? 0)
    const seconds = (key: string) => (answered > 0 ? Number(row?.[key]) / 1000 : null)
    return {
      mentions,
      needingReply,
      answered,
      replyRate: needingReply > 0 ? answered / needingReply : null,
      medianSeconds: seconds('median_ms'),
      p90Seconds: seconds('p90_ms'),
    }
  }

  async audience(query: AudienceQuery, reader?: Reader): Promise<Audience> {
    const [row] = await this.read<{ authors: string; reach: string }>(AUDIENCE, audienceParams(query), { reader })
    return { authors: Number(row?.authors ?? 0), reach: Number(row?.reach ?? 0) }
  }

  async metrics(query: MetricsQuery, reader?: Reader): Promise<BrandMetrics> {
    const [row] = await this.read<Record<string, string>>(METRIC_COUNTS, metricsParams(query), { reader })
    const audience = await this.audience(query, reader)
    return derive({
      brand: query.brand,
      source: query.source ?? ALL_SOURCES,
      window: query.window,
      from: query.from,
      to: query.to,
      counts: countsOf(row),
      ...audience,
      rivalPosts: Number(row?.rival_posts ?? 0),
    })
  }

  async metricSeries(query: MetricSeriesQuery, reader?: Reader): Promise<BrandMetrics[]> {
    const params = metricsParams(query)
    const rows = await this.read<Record<string, string>>(METRIC_SERIES_COUNTS, params, {
      maxRows: MAX_RESULT_ROWS,
      reader,
    })
    const audience = new Map(
      (
        await this.read<{ start: string; authors: string; reach: string }>(METRIC_SERIES_AUDIENCE, params, { reader })
      ).map((a) => [a.start, a]),
    )
    const span = (query.bucket === 'hour' ? 60 : 1) * 60_000
    return rows
      .filter(
        (row) =>
          Number(row.brand_posts) > 0 ||
          Number(row.likes) + Number(row.reposts) + Number(row.replies) + Number(row.quotes) > 0,
      )
      .map((row) => {
        const start = Number(row.start) * 1000
        const a = audience.get(row.start!)
        return derive({
          brand: query.brand,
          source: query.source ?? ALL_SOURCES,
          window: query.bucket === 'hour' ? '1h' : '1m',
          from: new Date(start).toISOString(),
          to: new Date(start + span).toISOString(),
          counts: countsOf(row),
          authors: Number(a?.authors ?? 0),
          reach: Number(a?.reach ?? 0),
          rivalPosts: Number(row.rival_posts),
        })
      })
  }

  async dialogue(query: DialogueQuery, reader?: Reader): Promise<Dialogue> {
    const { fromMs, toMs, fromS, toS } = range(query.from, query.to)
    const asOfMs = query.asOf ? timeBound('asOf', query.asOf) : Number.MAX_SAFE_INTEGER
    const rows = await this.read<{ id: string; created_ms: string; replies: string; depth: string }>(
      DIALOGUE,
      { brand: query.brand, fromMs, toMs, fromS, toS, asOfMs },
      { reader },
    )
    return summarise(
      query.brand,
      toMs,
      rows.map((r) => ({ id: r.id, at: Number(r.created_ms), replies: Number(r.replies), depth: Number(r.depth) })),
    )
  }

  async conversationSeed(sinceMs: number): Promise<ConversationSeed> {
    const params = { fromS: Math.max(0, Math.floor(sinceMs / 1000)) }
    const mentions = await this.rows<{ id: string; brand: string; created_ms: string; negative: number | string }>(
      SEED_MENTIONS,
      params,
    )
    const answers = await this.rows<{ brand: string; reply_to: string; first_ms: string }>(SEED_ANSWERS, params)
    const own = await this.rows<{ id: string; own_brand: string; created_ms: string }>(SEED_OWN_POSTS, params)
    const threads = await this.rows<{
      thread_root: string
      thread_brand: string
      created_ms: string
      thread_depth: string
    }>(SEED_THREAD_REPLIES, params)
    return {
      mentions: mentions.map((m) => ({
        brand: m.brand,
        id: m.id,
        at: Number(m.created_ms),
        negative: Number(m.negative) === 1,
      })),
      answers: answers.map((a) => ({ brand: a.brand, mentionId: a.reply_to, at: Number(a.first_ms) })),
      ownPosts: own.map((o) => ({ brand: o.own_brand, id: o.id, at: Number(o.created_ms) })),
      threadReplies: threads.map((t) => ({
        brand: t.thread_brand,
        root: t.thread_root,
        at: Number(t.created_ms),
        depth: Number(t.thread_depth),
      })),
    }
  }

  async ledgerSeed(sinceMs: number): Promise<LedgerSeed> {
    const params = { fromS: Math.max(0, Math.floor(sinceMs / 1000)) }
    const minutes = await this.rows<Record<string, string>>(LEDGER_MINUTES, params)
    const authors = await this.rows<{
      brand: string
      source: string
      author_id: string
      latest: string
      followers: string
    }>(LEDGER_AUTHORS, params)
    return {
      minutes: minutes.map((r) => ({
        brand: r.brand!,
        source: r.source as SourceName,
        minute: Number(r.start) * 1000,
        counts: countsOf(r, 'posts'),
      })),
      authors: authors.map((a) => ({
        brand: a.brand,
        source: a.source as SourceName | 'all',
        authorId: a.author_id,
        minute: Number(a.latest) * 1000,
        followers: Number(a.followers),
      })),
    }
  }

  async dropPartitionsBefore(cutoff: Date): Promise<DroppedPartition[]> {
    const day = cutoff.toISOString().slice(0, 10)
    const old = (await this.rows<DroppedPartition>(DAY_PARTITIONS, { tables: DAY_PARTITIONED })).filter(
      (p) => p.partition < day,
    )
    // The tables that hold the rows go before the minute tables counted from them: a recount
    // (recount.ts) in between then finds a day counted beyond its rows and leaves it, instead of
    // adding back what is about to go.
    for (const p of old.sort((a, b) => DAY_PARTITIONED.indexOf(a.table) - DAY_PARTITIONED.indexOf(b.table)))
      await this.exec(dropPartitionStatement(p.table, p.partition))
    return old
  }
}

/** A row of sums (METRIC_COUNTS, LEDGER_MINUTES) as Counts; `posts` is named apart in METRIC_COUNTS. */
function countsOf(row: Record<string, string> | undefined, postsColumn = 'brand_posts'): Counts {
  const n = (key: string) => Number(row?.[key] ?? 0)
  const counts = emptyCounts()
  for (const key of [
    'negative',
    'neutral',
    'positive',
    'unscored',
    'middle',
    'mixed',
    'uncertain',
    'likes',
    'reposts',
    'replies',
    'quotes',
  ] as const)
    counts[key] = n(key)
  counts.posts = n(postsColumn)
  for (const intent of INTENTS) counts.intents[intent] = n(intent)
  for (const emotion of EMOTIONS) counts.emotions[emotion] = n(emotion)
  return counts
}

/** LIMIT's largest value: no limit. */
const UINT32_MAX = 4_294_967_295

/** Posts per page of a scan (exports): a page's engagement lookup fits one query, like LOOKUP_CHUNK. */
export const SCAN_PAGE = 5_000

/** Ids per duplicate lookup: a whole sink batch (server mode raises max_query_size to fit it). */
const LOOKUP_CHUNK = 5_000

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
