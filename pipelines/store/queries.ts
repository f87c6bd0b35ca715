// Read queries shared by every store mode. Values only ever travel as bound parameters
// ({name:Type}), never spliced into SQL.
import type { AggregateQuery, PostSearch, ResponseTimesQuery } from './store.ts'

export const MINUTE_AGGREGATES = `
SELECT brand, toStartOfInterval(minute, toIntervalMinute({bucket:UInt32})) AS start,
  sum(posts) AS posts, sum(negative) AS negative, sum(neutral) AS neutral, sum(positive) AS positive,
  sum(mixed) AS mixed, sum(uncertain) AS uncertain
FROM brand_minute
WHERE (empty({brands:Array(String)}) OR has({brands:Array(String)}, brand))
  AND minute >= parseDateTime64BestEffort({from:String}, 3, 'UTC')
  AND minute < parseDateTime64BestEffort({to:String}, 3, 'UTC')
  AND ({last:UInt32} = 0 OR minute > (SELECT max(minute) FROM brand_minute) - toIntervalMinute({last:UInt32}))
GROUP BY brand, start
ORDER BY start, brand`

/** An open range when from or to is not given (DateTime's own limits bound the far end). */
function range(from: string | undefined, to: string | undefined) {
  return { from: from ?? '1970-01-01T00:00:00Z', to: to ?? '2105-12-31T00:00:00Z' }
}

export function minuteAggregateParams(query: AggregateQuery) {
  return {
    brands: query.brands ?? [],
    ...range(query.from, query.to),
    last: query.lastMinutes ?? 0,
    bucket: query.bucket === 'hour' ? 60 : 1,
  }
}

export const COUNT_POSTS = 'SELECT count() AS n FROM posts'
export const LATEST_POST = "SELECT formatDateTime(max(created_at), '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS t, count() AS n FROM posts"

/** Tables partitioned by day, whose old partitions retention drops. */
export const DAY_PARTITIONED = ['posts', 'engagement', 'brand_minute']

export const DAY_PARTITIONS = `
SELECT DISTINCT table, partition FROM system.parts
WHERE database = currentDatabase() AND active AND has({tables:Array(String)}, table)
ORDER BY table, partition`

const DAY = /^\d{4}-\d{2}-\d{2}$/

/**
 * ALTER ... DROP PARTITION takes no bound parameters, so the partition is spliced in, and only
 * ever one read back from system.parts that has the exact shape of a day.
 */
export function dropPartitionStatement(table: string, partition: string): string {
  if (!DAY_PARTITIONED.includes(table) || !DAY.test(partition)) throw new Error(`refusing to drop ${table} partition ${JSON.stringify(partition)}`)
  return `ALTER TABLE ${table} DROP PARTITION '${partition}'`
}

const SEARCH_WHERE = `
WHERE (empty({brand:String}) OR has(brands, {brand:String}))
  AND (empty({labels:Array(String)}) OR has({labels:Array(String)}, toString(label)))
  AND ({mixed:Int8} < 0 OR toInt8(mixed) = {mixed:Int8})
  AND ({uncertain:Int8} < 0 OR toInt8(uncertain) = {uncertain:Int8})
  AND (empty({intents:Array(String)}) OR hasAny(intents, {intents:Array(String)}))
  AND (empty({text:String}) OR positionCaseInsensitiveUTF8(text, {text:String}) > 0)
  AND (empty({source:String}) OR source = {source:String})
  AND created_at >= parseDateTime64BestEffort({from:String}, 3, 'UTC')
  AND created_at < parseDateTime64BestEffort({to:String}, 3, 'UTC')`

export const SEARCH_POSTS = `
SELECT *, formatDateTime(created_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS created_iso
FROM posts ${SEARCH_WHERE}
ORDER BY created_at DESC, id DESC
LIMIT {limit:UInt32} OFFSET {offset:UInt32}`

export const COUNT_SEARCH = `SELECT count() AS n FROM posts ${SEARCH_WHERE}`

const flag = (value: boolean | undefined) => (value === undefined ? -1 : value ? 1 : 0)

export function searchParams(search: PostSearch) {
  return {
    brand: search.brand ?? '',
    labels: search.labels ?? [],
    mixed: flag(search.mixed),
    uncertain: flag(search.uncertain),
    intents: search.intents ?? [],
    text: search.text ?? '',
    source: search.source ?? '',
    ...range(search.from, search.to),
    limit: search.pageSize,
    offset: (search.page - 1) * search.pageSize,
  }
}

// A mention's first reply is the earliest post by the brand's own accounts whose reply_to is it.
// (Unmatched rows of the LEFT JOIN carry defaults: an empty reply_to, so `replied` is false.)
export const RESPONSE_TIMES = `
SELECT
  count() AS mentions,
  countIf(replied) AS answered,
  quantileExactIf(0.5)(delay_ms, replied) AS median_ms,
  quantileExactIf(0.9)(delay_ms, replied) AS p90_ms
FROM (
  SELECT r.reply_to != '' AS replied,
    toUnixTimestamp64Milli(r.first_reply) - toUnixTimestamp64Milli(p.created_at) AS delay_ms
  FROM (
    SELECT id, created_at FROM posts
    WHERE has(brands, {brand:String})
      AND created_at >= parseDateTime64BestEffort({from:String}, 3, 'UTC')
      AND created_at < parseDateTime64BestEffort({to:String}, 3, 'UTC')
  ) AS p
  LEFT JOIN (
    SELECT reply_to, min(created_at) AS first_reply FROM posts
    WHERE own_brand = {brand:String} AND reply_to != ''
    GROUP BY reply_to
  ) AS r ON r.reply_to = p.id
)`

export function responseTimesParams(query: ResponseTimesQuery) {
  return { brand: query.brand, ...range(query.from, query.to) }
}
