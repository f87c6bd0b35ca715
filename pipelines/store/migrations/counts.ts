// What brand_source_minute counts of each post, per migration: the views of migrations 3 and 4
// and the recount's queries (recount-queries.ts) are built from these, so they cannot drift apart.
// A migration is frozen once shipped: the intents are spelled out, not read from schema.ts, so a
// new intent needs a migration of its own (ALTER TABLE ... ADD COLUMN, and a new view).
export const INTENT_COUNTS = ['question', 'suggestion', 'complaint', 'praise', 'comparison', 'support']
/** The emotions counted per minute from migration 4 on (frozen like the intents). */
export const EMOTION_COUNTS = ['anger', 'joy', 'optimism', 'sadness']
export const ENGAGEMENT_SUMS = ['likes', 'reposts', 'replies', 'quotes']
  .map((c) => `toUInt64(sum(${c})) AS ${c}`)
  .join(',\n        ')

/** What brand_source_minute counts beyond migration 3's columns, from migration 4 on. */
export interface LaterCounts {
  /** Posts in a language the classifier does not read (label 'unscored'). */
  unscored: boolean
  emotions: readonly string[]
}
export const MIGRATION_3_COUNTS: LaterCounts = { unscored: false, emotions: [] }
export const MIGRATION_4_COUNTS: LaterCounts = { unscored: true, emotions: EMOTION_COUNTS }

/**
 * brand_source_minute's counts of one post, as the view over posts computes them (from migration 3
 * on; `later` from 4 on). recount-queries.ts reads the same over the stored rows.
 */
export function postCounts(later: LaterCounts): string[] {
  return [
    'toUInt64(count()) AS posts',
    ...['negative', 'neutral', 'positive', ...(later.unscored ? ['unscored'] : [])].map(
      (l) => `toUInt64(countIf(label = '${l}')) AS ${l}`,
    ),
    'toUInt64(countIf(mixed = 1)) AS mixed',
    'toUInt64(countIf(uncertain = 1)) AS uncertain',
    'toUInt64(sum(middle)) AS middle',
    'toUInt64(countIf(has(needs_reply, brand))) AS needs_reply',
    ...INTENT_COUNTS.map((i) => `toUInt64(countIf(has(intents, '${i}'))) AS ${i}`),
    ...later.emotions.map((e) => `toUInt64(countIf(has(emotions, '${e}'))) AS ${e}`),
  ]
}

/** The columns postCounts fills, in its order. */
export const countColumns = (later: LaterCounts): string[] => [
  'posts',
  'negative',
  'neutral',
  'positive',
  ...(later.unscored ? ['unscored'] : []),
  'mixed',
  'uncertain',
  'middle',
  'needs_reply',
  ...INTENT_COUNTS,
  ...later.emotions,
]

/** The two views that fill brand_source_minute, made anew (18.x wants every column named). */
export function minuteViews(later: LaterCounts): string[] {
  const zeros = countColumns(later)
  return [
    `DROP TABLE IF EXISTS brand_source_minute_posts_mv`,
    `DROP TABLE IF EXISTS brand_source_minute_engagement_mv`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS brand_source_minute_posts_mv TO brand_source_minute AS
      SELECT
        arrayJoin(brands) AS brand,
        source,
        toStartOfMinute(created_at) AS minute,
        ${postCounts(later).join(',\n        ')},
        ${ENGAGEMENT_SUMS}
      FROM posts
      GROUP BY brand, source, minute`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS brand_source_minute_engagement_mv TO brand_source_minute AS
      SELECT
        arrayJoin(brands) AS brand,
        source,
        toStartOfMinute(at) AS minute,
        ${zeros.map((c) => `toUInt64(0) AS ${c}`).join(',\n        ')},
        ${ENGAGEMENT_SUMS}
      FROM engagement
      GROUP BY brand, source, minute`,
  ]
}
