// Read queries shared by every store mode. Values only ever travel as typed parameters
// ({name:Type}): bound by the engine where it can, rendered as checked literals by bind.ts where it
// cannot. Every query runs on both engines we support (see migrations.ts): no DateTime64, no
// toStartOfInterval, no `x IN array`, JOINs spelled `ANY LEFT JOIN ... USING`.
//
// No FINAL on posts: rows are written once (see migrations.ts), and FINAL (or argMax, or LIMIT 1
// BY id) costs 4x and more, as npm run bench:store measures (docs/storage.md), because it stops
// ClickHouse from reading newest-first and stopping early.
import { ENGAGEMENT_KEYS, POST_COUNTS } from '../metrics/definition.ts'
import { timestampMs } from '../schema.ts'
import { EMOTIONS, INTENTS } from '../vocabulary.ts'
import type {
  AggregateQuery,
  AlertQuery,
  AudienceQuery,
  MetricsQuery,
  PostFilter,
  PostSearch,
  ResponseTimesQuery,
} from './store.ts'

/** DateTime's range, 1970 to 2106, in epoch ms: every time bound is clamped into it. */
const MAX_MS = 4_294_967_295_000
const clampMs = (ms: number) => Math.min(MAX_MS, Math.max(0, ms))

/**
 * A bound of a range in epoch ms, clamped into DateTime's years (nothing is stored outside them);
 * a value that is no time is the caller's error: a 400 that names it.
 */
export function timeBound(name: string, value: string): number {
  const ms = timestampMs(value)
  if (Number.isNaN(ms))
    throw Object.assign(
      new Error(`${name}: ${JSON.stringify(value)} is not a time (ISO 8601 with a zone, e.g. 2026-11-23T14:00:00Z)`),
      { statusCode: 400 },
    )
  return clampMs(ms)
}

/** Time ranges travel as epoch milliseconds and whole seconds (for the DateTime key columns). */
export function range(from: string | undefined, to: string | undefined) {
  const fromMs = from === undefined ? 0 : timeBound('from', from)
  const toMs = to === undefined ? MAX_MS : timeBound('to', to)
  return { fromMs, toMs, fromS: Math.floor(fromMs / 1000), toS: Math.ceil(toMs / 1000) }
}

const IN_RANGE = (column: string, ms: string) =>
  `${column} >= toDateTime({fromS:UInt32}) AND ${column} < toDateTime({toS:UInt32}) AND ${ms} >= {fromMs:UInt64} AND ${ms} < {toMs:UInt64}`

export const MINUTE_AGGREGATES = `
SELECT brand, toUnixTimestamp(if({bucket:UInt32} = 60, toStartOfHour(minute), minute)) AS start,
  sum(posts) AS posts, sum(negative) AS negative, sum(neutral) AS neutral, sum(positive) AS positive,
  sum(mixed) AS mixed, sum(uncertain) AS uncertain, sum(unscored) AS unscored
FROM brand_source_minute
WHERE (empty({brands:Array(String)}) OR has({brands:Array(String)}, brand))
  AND (empty({source:String}) OR source = {source:String})
  AND minute >= toDateTime({fromS:UInt32}) AND minute < toDateTime({toS:UInt32})
  AND ({last:UInt32} = 0 OR minute > (SELECT max(minute) FROM brand_source_minute) - {last:UInt32} * 60)
GROUP BY brand, start
HAVING posts > 0
ORDER BY start, brand`

export function minuteAggregateParams(query: AggregateQuery) {
  const { fromS, toS } = range(query.from, query.to)
  return {
    brands: query.brands ?? [],
    source: query.source ?? '',
    fromS,
    toS,
    last: query.lastMinutes ?? 0,
    bucket: query.bucket === 'hour' ? 60 : 1,
  }
}

export const COUNT_POSTS = 'SELECT count() AS n FROM posts'
/** Read newest-first along the key, it stops at the first row (max(created_ms) reads the whole column). */
export const LATEST_POST = 'SELECT created_ms AS t FROM posts ORDER BY created_at DESC, created_ms DESC LIMIT 1'

/** Of `ids`, those already stored; the created_at range keeps the lookup on the primary key. */
export const STORED_POST_IDS = `
SELECT DISTINCT id FROM posts
WHERE created_at >= toDateTime({fromS:UInt32}) AND created_at <= toDateTime({toS:UInt32})
  AND id IN (SELECT arrayJoin({ids:Array(String)}))`

export function storedPostIdsParams(ids: readonly string[], createdMs: readonly number[]) {
  return {
    ids,
    fromS: Math.floor(clampMs(Math.min(...createdMs)) / 1000),
    toS: Math.ceil(clampMs(Math.max(...createdMs)) / 1000),
  }
}

export const STORED_ENGAGEMENT_IDS = `
SELECT DISTINCT id FROM engagement
WHERE post_id IN (SELECT arrayJoin({posts:Array(String)})) AND id IN (SELECT arrayJoin({ids:Array(String)}))`

export const STORED_DELETION_IDS = `
SELECT DISTINCT post_id AS id FROM post_deletions WHERE has({ids:Array(String)}, post_id)`

// Posts by id within their creation times: the time bounds keep both to the parts that can hold them.
const AMONG = `created_at >= toDateTime({fromS:UInt32}) AND created_at <= toDateTime({toS:UInt32}) AND has({ids:Array(String)}, id)`

/** What triage stored of these posts (by id, within their creation times: a look at their parts only). */
export const NEEDS_REPLY_OF = `SELECT id, any(needs_reply) AS needs_reply FROM posts WHERE ${AMONG} GROUP BY id`

/** How many of these posts the table holds: a purge that would match nothing is not run. */
export const POSTS_AMONG = `SELECT count() AS n FROM posts WHERE ${AMONG}`

/** A mutation (ALTER ... DELETE runs on 18.x and current engines alike): rare, so affordable. */
export const DELETE_POSTS = `ALTER TABLE posts DELETE WHERE ${AMONG}`

/** Tables partitioned by day, whose old partitions retention drops. */
export const DAY_PARTITIONED = [
  'posts',
  'engagement',
  'brand_source_minute',
  'brand_authors',
  'brand_replies',
  'alerts',
  'post_deletions',
]

export const DAY_PARTITIONS = `
SELECT DISTINCT table, partition FROM system.parts
WHERE database = currentDatabase() AND active AND has({tables:Array(String)}, table)
ORDER BY table, partition`

const DAY = /^\d{4}-\d{2}-\d{2}$/

/**
 * ALTER ... DROP PARTITION takes no parameters, so the partition is spliced in, and only ever one
 * read back from system.parts that has the exact shape of a day.
 */
export function dropPartitionStatement(table: string, partition: string): string {
  if (!DAY_PARTITIONED.includes(table) || !DAY.test(partition))
    throw new Error(`refusing to drop ${table} partition ${JSON.stringify(partition)}`)
  return `ALTER TABLE ${table} DROP PARTITION '${partition}'`
}

// Only the filters a search sets become conditions: a filter written as "empty(x) OR ..." for
// every search, set or not, costs a fifth more per query (measured: npm run bench:store), because
// ClickHouse plans its reading around every condition it is given. Values still travel as
// parameters; the text varies only in which fixed conditions it holds. One WHERE for every
// question about a selection: its page, its count, its series and its export.
function searchWhere(search: PostFilter, options: { after?: boolean } = {}): string {
  const where: string[] = []
  if (search.ids) where.push('has({ids:Array(String)}, id)')
  if (search.brand) where.push('has(brands, {brand:String})')
  if (search.labels?.length) where.push('has({labels:Array(String)}, toString(label))')
  if (search.mixed !== undefined) where.push('mixed = {mixed:Int8}')
  if (search.uncertain !== undefined) where.push('uncertain = {uncertain:Int8}')
  if (search.intents?.length) where.push('hasAny(intents, {intents:Array(String)})')
  if (search.emotions?.length) where.push('hasAny(emotions, {emotions:Array(String)})')
  if (search.text) where.push('positionCaseInsensitiveUTF8(text, {text:String}) > 0')
  if (search.source) where.push('source = {source:String}')
  if (search.excludeOwn) where.push("own_brand = ''")
  where.push(IN_RANGE('created_at', 'created_ms'))
  // Keyset paging: only the rows after the last one read, in NEWEST_FIRST order.
  if (options.after)
    where.push(
      'created_at <= toDateTime({afterS:UInt32}) AND (created_ms < {afterMs:UInt64} OR (created_ms = {afterMs:UInt64} AND id < {afterId:String}))',
    )
  return `WHERE ${where.join('\n  AND ')}`
}

const NEWEST_FIRST = 'ORDER BY created_at DESC, created_ms DESC, id DESC'

export const searchPostsQuery = (search: PostSearch) => `
SELECT * FROM posts ${searchWhere(search)}
${NEWEST_FIRST}
LIMIT {limit:UInt32} OFFSET {offset:UInt32}`

/**
 * A page of every post of a filter (exports), after the row `after*` when `after` is set. Keyset,
 * not OFFSET: each page starts where the last stopped, so the thousandth page costs what the first does.
 */
export const scanPostsQuery = (filter: PostFilter, after: boolean) => `
SELECT * FROM posts ${searchWhere(filter, { after })}
${NEWEST_FIRST}
LIMIT {limit:UInt32}`

/** The posts of a filter per minute or hour (`bucket` 60), by label: only buckets with posts. */
export const postSeriesQuery = (filter: PostFilter) => `
SELECT toUnixTimestamp(if({bucket:UInt32} = 60, toStartOfHour(created_at), toStartOfMinute(created_at))) AS start,
  count() AS posts, countIf(toString(label) = 'negative') AS negative, countIf(toString(label) = 'neutral') AS neutral, countIf(toString(label) = 'positive') AS positive, countIf(toString(label) = 'unscored') AS unscored
FROM posts ${searchWhere(filter)}
GROUP BY start
ORDER BY start
LIMIT {limit:UInt32}`

/**
 * Matches are counted up to this many, or just past the page asked for if that is further: past
 * it the answer is "at least", and costs no more.
 */
export const SEARCH_COUNT_CAP = 1_000

/**
 * How deep a search pages: to its 10,000th match at most (OFFSET reads and skips every row before
 * the page). Further is a narrower search; an export takes everything (keyset, scanPostsQuery).
 */
export const MAX_SEARCH_DEPTH = 10_000

// Blocks of one granule: the count stops at the cap, and reading 65,536 rows a block on each thread
// before looking reads five times the rows it needs (2 ms of the 12, npm run bench:store).
export const countSearchQuery = (search: PostFilter) =>
  `SELECT count() AS n FROM (SELECT 1 FROM posts ${searchWhere(search)} LIMIT {cap:UInt32}) SETTINGS max_block_size = 8192`

/** How far the count of a search goes: past the cap and past the page, by one. */
export const countLimit = (search: { page: number; pageSize: number }) =>
  Math.max(SEARCH_COUNT_CAP, search.page * search.pageSize) + 1

/**
 * Engagement that arrived after the posts, summed per post. Each update is stored once (see
 * migrations.ts), so a plain sum is exact. `has(list, post_id)` rather than `IN`: 18.x has no
 * `IN array`, and current engines read it through the primary key all the same (about 4 ms for a
 * page of 50 over 3 million updates, against 7 ms for `IN (SELECT arrayJoin(...))`).
 */
export const ENGAGEMENT_TOTALS = `
SELECT post_id, sum(likes) AS likes, sum(reposts) AS reposts, sum(replies) AS replies, sum(quotes) AS quotes
FROM engagement WHERE has({posts:Array(String)}, post_id)
GROUP BY post_id`

const flag = (value: boolean | undefined) => (value === undefined ? -1 : value ? 1 : 0)

/** The values of a filter's conditions (searchWhere). */
export function filterParams(search: PostFilter) {
  return {
    ids: search.ids ?? [],
    brand: search.brand ?? '',
    labels: search.labels ?? [],
    mixed: flag(search.mixed),
    uncertain: flag(search.uncertain),
    intents: search.intents ?? [],
    emotions: search.emotions ?? [],
    text: search.text ?? '',
    source: search.source ?? '',
    ...range(search.from, search.to),
  }
}

export function searchParams(search: PostSearch) {
  return {
    ...filterParams(search),
    // One row past the page: whether another page exists, without counting.
    limit: search.pageSize + 1,
    offset: (search.page - 1) * search.pageSize,
    cap: countLimit(search),
  }
}

// Mentions that needed a reply come from the minute table; answered ones and their delays from
// brand_replies, which holds each brand reply with the time of the mention it answers and whether
// that mention needed a reply (metrics/replies.ts). Both take whole minutes: a mention counts when
// its minute starts inside the range, as in the volume series. The first reply may come after it.
export const RESPONSE_TIMES = `
SELECT
  (SELECT sum(posts) FROM brand_source_minute
   WHERE brand = {brand:String} AND minute >= toDateTime({fromS:UInt32}) AND minute < toDateTime({toS:UInt32})) AS mentions,
  (SELECT sum(needs_reply) FROM brand_source_minute
   WHERE brand = {brand:String} AND minute >= toDateTime({fromS:UInt32}) AND minute < toDateTime({toS:UInt32})) AS needing_reply,
  count() AS answered,
  quantileExact(0.5)(delay_ms) AS median_ms,
  quantileExact(0.9)(delay_ms) AS p90_ms
FROM (
  SELECT reply_to, toInt64(min(replied_ms)) - toInt64(any(mention_ms)) AS delay_ms
  FROM brand_replies
  WHERE brand = {brand:String} AND needed = 1 AND mention_minute >= toDateTime({fromS:UInt32}) AND mention_minute < toDateTime({toS:UInt32})
    AND replied_ms < {asOfMs:UInt64}
  GROUP BY reply_to
)`

export function responseTimesParams(query: ResponseTimesQuery) {
  const { fromS, toS } = range(query.from, query.to)
  const asOfMs = query.asOf === undefined ? MAX_MS : timeBound('asOf', query.asOf)
  // A mention after asOf could not have been answered by then: it is not counted either.
  return { brand: query.brand, fromS, toS: Math.min(toS, Math.ceil(asOfMs / 1000)), asOfMs }
}

/** The newest posts, for relating replies and engagement after a restart. */
export const NEWEST_POSTS = `
SELECT id, source, brands, created_ms, needs_reply, own_brand, reply_to, thread_root, thread_brand, thread_depth FROM posts
ORDER BY created_at DESC, id DESC
LIMIT {limit:UInt32}`

// Unique authors and potential reach: each author once, with their followers as of their latest
// post in range (the most seen in that minute; see migration 3).
export const AUDIENCE = `
SELECT count() AS authors, sum(followers) AS reach FROM (
  SELECT author_id, argMax(followers, (minute, followers)) AS followers FROM brand_authors
  WHERE brand = {brand:String}
    AND (empty({source:String}) OR source = {source:String})
    AND minute >= toDateTime({fromS:UInt32}) AND minute < toDateTime({toS:UInt32})
  GROUP BY author_id
)`

export function audienceParams(query: AudienceQuery) {
  const { fromS, toS } = range(query.from, query.to)
  return { brand: query.brand, source: query.source ?? '', fromS, toS }
}

// Each sum is named after its column, but for posts: the rivals' sum reads the column \`posts\`, which
// 18.x would take for the alias of an aggregate of the same name.
const sumIf = (column: string) =>
  `sumIf(${column}, brand = {brand:String}) AS ${column === 'posts' ? 'brand_posts' : column}`

/**
 * A brand's own posts (not replies) created in range, with the replies in their threads by others
 * before `asOfMs` and the deepest of them: metrics/dialogue.ts, from history.
 */
export const DIALOGUE = `
SELECT id, created_ms, replies, depth FROM (
  SELECT id, created_ms FROM posts
  WHERE own_brand = {brand:String} AND reply_to = '' AND ${IN_RANGE('created_at', 'created_ms')}
) AS own ANY LEFT JOIN (
  SELECT thread_root AS id, count() AS replies, max(thread_depth) AS depth FROM posts
  WHERE thread_brand = {brand:String} AND own_brand != {brand:String}
    AND created_at >= toDateTime({fromS:UInt32}) AND created_ms < {asOfMs:UInt64}
  GROUP BY thread_root
) AS threads USING id`

// After a restart, the mentions that needed a reply and the brand's own posts go on from the store
// (metrics/replies.ts, metrics/dialogue.ts): the mentions with their first replies, the own posts
// with the replies in their threads.
export const SEED_MENTIONS = `
SELECT id, arrayJoin(needs_reply) AS brand, created_ms, toString(label) = 'negative' AS negative FROM posts
WHERE created_at >= toDateTime({fromS:UInt32}) AND notEmpty(needs_reply)`

export const SEED_ANSWERS = `
SELECT brand, reply_to, min(replied_ms) AS first_ms FROM brand_replies
WHERE needed = 1 AND mention_minute >= toDateTime({fromS:UInt32})
GROUP BY brand, reply_to`

export const SEED_OWN_POSTS = `
SELECT id, own_brand, created_ms FROM posts
WHERE created_at >= toDateTime({fromS:UInt32}) AND own_brand != '' AND reply_to = ''`

export const SEED_THREAD_REPLIES = `
SELECT thread_root, thread_brand, created_ms, thread_depth FROM posts
WHERE created_at >= toDateTime({fromS:UInt32}) AND thread_brand != '' AND own_brand != thread_brand`

/** brand_source_minute's columns that the live figures read (metrics/definition.ts, Counts). */
const COUNT_COLUMNS = [...POST_COUNTS, ...INTENTS, ...EMOTIONS, ...ENGAGEMENT_KEYS]

/** Every brand x source x minute's counts from `fromS` on: where the live ledger resumes after a restart. */
export const LEDGER_MINUTES = `
SELECT brand, source, toUnixTimestamp(minute) AS start,
  ${COUNT_COLUMNS.map((c) => `sum(${c}) AS ${c}`).join(', ')}
FROM brand_source_minute
WHERE minute >= toDateTime({fromS:UInt32})
GROUP BY brand, source, start`

/** Each author's latest minute and followers per brand and source, and per brand over all sources. */
export const LEDGER_AUTHORS = `
SELECT brand, source, author_id, toUnixTimestamp(max(minute)) AS latest, argMax(followers, (minute, followers)) AS followers
FROM brand_authors WHERE minute >= toDateTime({fromS:UInt32})
GROUP BY brand, source, author_id
UNION ALL
SELECT brand, 'all' AS source, author_id, toUnixTimestamp(max(minute)) AS latest, argMax(followers, (minute, followers)) AS followers
FROM brand_authors WHERE minute >= toDateTime({fromS:UInt32})
GROUP BY brand, author_id`

const BUCKET_START = `toUnixTimestamp(if({bucket:UInt32} = 60, toStartOfHour(minute), minute))`

/**
 * A brand's counts over whole minutes, and its competitors' mentions over the same (share of
 * voice): over the whole range, or per minute or hour of it (`series`).
 */
const metricCounts = (series: boolean) => `
SELECT ${series ? `${BUCKET_START} AS start, ` : ''}${COUNT_COLUMNS.map(sumIf).join(', ')},
  sumIf(posts, has({rivals:Array(String)}, brand)) AS rival_posts
FROM brand_source_minute
WHERE (brand = {brand:String} OR has({rivals:Array(String)}, brand))
  AND (empty({source:String}) OR source = {source:String})
  AND minute >= toDateTime({fromS:UInt32}) AND minute < toDateTime({toS:UInt32})${series ? '\nGROUP BY start ORDER BY start' : ''}`

export const METRIC_COUNTS = metricCounts(false)
export const METRIC_SERIES_COUNTS = metricCounts(true)

/** Unique authors and reach per minute or hour of the range. */
export const METRIC_SERIES_AUDIENCE = `
SELECT start, count() AS authors, sum(followers) AS reach FROM (
  SELECT ${BUCKET_START} AS start, author_id, argMax(followers, (minute, followers)) AS followers FROM brand_authors
  WHERE brand = {brand:String}
    AND (empty({source:String}) OR source = {source:String})
    AND minute >= toDateTime({fromS:UInt32}) AND minute < toDateTime({toS:UInt32})
  GROUP BY start, author_id
)
GROUP BY start`

export function metricsParams(query: Omit<MetricsQuery, 'window'> & { bucket?: 'minute' | 'hour' }) {
  const { fromS, toS } = range(query.from, query.to)
  return {
    brand: query.brand,
    rivals: query.rivals,
    source: query.source ?? '',
    fromS,
    toS,
    bucket: query.bucket === 'hour' ? 60 : 1,
  }
}

// The state is filtered outside FINAL: beside it, the condition could be moved to PREWHERE, which
// reads before the versions are merged, and find an alert by a state it has left.
export const ALERTS = `
SELECT * FROM (
  SELECT id, brand, at_ms, toString(severity) AS severity, toString(state) AS state, title, why
  FROM alerts FINAL
  WHERE (empty({brand:String}) OR brand = {brand:String}) AND (empty({id:String}) OR id = {id:String}) AND ${IN_RANGE('at', 'at_ms')}
)
WHERE empty({state:String}) OR state = {state:String}
ORDER BY at_ms DESC, id
LIMIT {limit:UInt32}`

export function alertParams(query: AlertQuery) {
  return {
    brand: query.brand ?? '',
    id: query.id ?? '',
    state: query.state ?? '',
    ...range(query.from, query.to),
    limit: query.limit ?? 100,
  }
}
