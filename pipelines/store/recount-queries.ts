// The recount's queries (recount.ts): the views of migrations 3 and 4 (migrations.ts) written again as
// reads over the tables that hold the rows, column for column, and what they lack. Kept in step
// with the views: a migration that changes a view changes these too, and
// tests/pipelines/store/recount.test.ts holds what a recount adds against what the views add.
import type { Params } from './bind.ts'

import { countColumns, MIGRATION_4_COUNTS, postCounts } from './migrations.ts'

/** brand_source_minute's counts that posts feed. */
const POST_COUNTS = countColumns(MIGRATION_4_COUNTS)
/** brand_source_minute's sums that posts (their counts at post time) and engagement both feed. */
const ENGAGEMENT_SUMS = ['likes', 'reposts', 'replies', 'quotes']
export const MINUTE_COLUMNS = [...POST_COUNTS, ...ENGAGEMENT_SUMS]

const sums = ENGAGEMENT_SUMS.map((c) => `toUInt64(sum(${c})) AS ${c}`).join(', ')
const IN_MINUTES = (column: string) =>
  `${column} >= toDateTime({fromS:UInt32}) AND ${column} < toDateTime({toS:UInt32}) AND toUInt32(toStartOfMinute(${column})) IN (SELECT arrayJoin({minutes:Array(UInt32)}))`

export const POST_MINUTES = `
SELECT arrayJoin(brands) AS brand, source, toUInt32(toStartOfMinute(created_at)) AS m,
  ${postCounts(MIGRATION_4_COUNTS).join(',\n  ')},
  ${sums}
FROM posts WHERE ${IN_MINUTES('created_at')}
GROUP BY brand, source, m`

export const ENGAGEMENT_MINUTES = `
SELECT arrayJoin(brands) AS brand, source, toUInt32(toStartOfMinute(at)) AS m, ${sums}
FROM engagement WHERE ${IN_MINUTES('at')}
GROUP BY brand, source, m`

export const COUNTED_MINUTES = `
SELECT brand, source, toUInt32(minute) AS m, ${MINUTE_COLUMNS.map((c) => `toUInt64(sum(${c})) AS ${c}`).join(', ')}
FROM brand_source_minute WHERE ${IN_MINUTES('minute')}
GROUP BY brand, source, m`

/**
 * Author rows the view lacks: an author counts in a minute by having a row there, and reach takes
 * their highest followers in it. (Rows written before migration 3 hold only the minute's highest
 * followers, so the recount goes by author and followers, not row by row.) Joined in the store:
 * a busy hour has hundreds of thousands of authors.
 */
export const MISSING_AUTHORS = `
SELECT brand, source, m, author_id, followers, posts FROM (
  SELECT arrayJoin(brands) AS brand, source, toUInt32(toStartOfMinute(created_at)) AS m, author_id, author_followers AS followers, toUInt64(count()) AS posts
  FROM posts WHERE ${IN_MINUTES('created_at')}
  GROUP BY brand, source, m, author_id, followers
) AS written ANY LEFT JOIN (
  SELECT brand, source, toUInt32(minute) AS m, author_id, max(followers) AS counted_followers, toUInt64(sum(posts)) AS counted_posts
  FROM brand_authors WHERE ${IN_MINUTES('minute')}
  GROUP BY brand, source, m, author_id
) AS counted USING (brand, source, m, author_id)
WHERE counted_posts = 0 OR followers > counted_followers`

/** Brand replies among `ids` that brand_replies lacks, as the view would have written them. */
export const MISSING_REPLIES = `
SELECT own_brand AS brand, reply_to, id AS reply_id, toUInt32(created_at) AS replied_at, created_ms AS replied_ms,
  toUInt32(toStartOfMinute(toDateTime(intDiv(answers_mention_ms, 1000), 'UTC'))) AS mention_minute, answers_mention_ms AS mention_ms,
  mention_needs_reply AS needed
FROM posts
WHERE created_at >= toDateTime({fromS:UInt32}) AND created_at <= toDateTime({toS:UInt32})
  AND id IN (SELECT arrayJoin({ids:Array(String)}))
  AND own_brand != '' AND reply_to != '' AND answers_mention_ms > 0
  AND id NOT IN (SELECT reply_id FROM brand_replies WHERE reply_id IN (SELECT arrayJoin({ids:Array(String)})))`

export function minutesParams(minutesS: readonly number[]): Params {
  return { minutes: [...minutesS], fromS: Math.min(...minutesS), toS: Math.max(...minutesS) + 60 }
}

export function repliesParams(replies: readonly { id: string; createdMs: number }[]): Params {
  const times = replies.map((r) => r.createdMs)
  return {
    ids: replies.map((r) => r.id),
    fromS: Math.floor(Math.min(...times) / 1000),
    toS: Math.ceil(Math.max(...times) / 1000),
  }
}

export type Counts = Record<string, number>

/** Rows keyed by `keyOf`, their `columns` as numbers, summed when a key comes twice. */
export function tally(
  rows: readonly Record<string, unknown>[],
  keyOf: (row: Record<string, unknown>) => string,
  columns: readonly string[],
): Map<string, Counts> {
  const out = new Map<string, Counts>()
  for (const row of rows) {
    const key = keyOf(row)
    const counts = out.get(key) ?? Object.fromEntries(columns.map((c) => [c, 0]))
    for (const c of columns) counts[c]! += Number(row[c] ?? 0)
    out.set(key, counts)
  }
  return out
}

/**
 * Per key, what `expected` has beyond `counted`, where `counted` has nothing beyond `expected` in
 * any column: a key that counts more than its rows somewhere (a purged post) is not mended, as the
 * difference could not be told apart from the purge.
 */
export function missing(
  expected: Map<string, Counts>,
  counted: Map<string, Counts>,
  columns: readonly string[],
): Map<string, Counts> {
  const out = new Map<string, Counts>()
  for (const [key, want] of expected) {
    const have = counted.get(key)
    const lack = Object.fromEntries(columns.map((c) => [c, want[c]! - (have?.[c] ?? 0)]))
    if (columns.some((c) => lack[c]! > 0) && columns.every((c) => lack[c]! >= 0)) out.set(key, lack)
  }
  return out
}
