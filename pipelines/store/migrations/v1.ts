// Migration 1: the first schema: the tables and the views that count them.
// Frozen: a shipped migration is never edited (migrations.ts).
import type { Migration } from './migration.ts'
import { ENGAGEMENT_SUMS, INTENT_COUNTS } from './counts.ts'

export const V1: Migration = {
  version: 1,
  name: 'posts, engagement, brand x source minutes, authors, brand replies, alerts',
  statements: [
    `CREATE TABLE IF NOT EXISTS posts (
        id String,
        source String,
        url String,
        author_id String,
        author_handle String,
        author_name String,
        author_followers UInt64,
        text String,
        lang String,
        created_at DateTime('UTC'),
        created_ms UInt64,
        reply_to String,
        quote_of String,
        likes UInt32,
        reposts UInt32,
        replies UInt32,
        quotes UInt32,
        brands Array(String),
        terms Array(String),
        own_brand String,
        label Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1),
        p_negative Float32,
        p_neutral Float32,
        p_positive Float32,
        confidence Float32,
        mixed UInt8,
        uncertain UInt8,
        intents Array(String),
        answers_mention_ms UInt64,
        ingested_at DateTime('UTC') DEFAULT now()
      ) ENGINE = ReplacingMergeTree(ingested_at)
      PARTITION BY toDate(created_at)
      ORDER BY (created_at, created_ms, id)`,
    // Engagement arriving after the post, as deltas; brands and source are the post's, filled in
    // by the pipeline, so the minute tables can count engagement without a join.
    `CREATE TABLE IF NOT EXISTS engagement (
        id String,
        post_id String,
        source String,
        brands Array(String),
        at DateTime('UTC'),
        at_ms UInt64,
        likes UInt32,
        reposts UInt32,
        replies UInt32,
        quotes UInt32
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toDate(at)
      ORDER BY (post_id, id)`,
    `CREATE TABLE IF NOT EXISTS brand_source_minute (
        brand String,
        source String,
        minute DateTime('UTC'),
        posts UInt64,
        negative UInt64,
        neutral UInt64,
        positive UInt64,
        mixed UInt64,
        uncertain UInt64,
        ${INTENT_COUNTS.map((i) => `${i} UInt64`).join(',\n        ')},
        likes UInt64,
        reposts UInt64,
        replies UInt64,
        quotes UInt64
      ) ENGINE = SummingMergeTree
      PARTITION BY toDate(minute)
      ORDER BY (brand, source, minute)`,
    // Mentions: a post counts once for each brand it mentions (the brand's own posts excluded:
    // match leaves the own brand out of brands).
    `CREATE MATERIALIZED VIEW IF NOT EXISTS brand_source_minute_posts_mv TO brand_source_minute AS
      SELECT
        arrayJoin(brands) AS brand,
        source,
        toStartOfMinute(created_at) AS minute,
        toUInt64(count()) AS posts,
        toUInt64(countIf(label = 'negative')) AS negative,
        toUInt64(countIf(label = 'neutral')) AS neutral,
        toUInt64(countIf(label = 'positive')) AS positive,
        toUInt64(countIf(mixed = 1)) AS mixed,
        toUInt64(countIf(uncertain = 1)) AS uncertain,
        ${INTENT_COUNTS.map((i) => `toUInt64(countIf(has(intents, '${i}'))) AS ${i}`).join(',\n        ')},
        ${ENGAGEMENT_SUMS}
      FROM posts
      GROUP BY brand, source, minute`,
    // Engagement counts in the minute it happened (the post's own counts at post time above).
    // Every column is named: 18.x wants them all.
    `CREATE MATERIALIZED VIEW IF NOT EXISTS brand_source_minute_engagement_mv TO brand_source_minute AS
      SELECT
        arrayJoin(brands) AS brand,
        source,
        toStartOfMinute(at) AS minute,
        ${['posts', 'negative', 'neutral', 'positive', 'mixed', 'uncertain', ...INTENT_COUNTS].map((c) => `toUInt64(0) AS ${c}`).join(',\n        ')},
        ${ENGAGEMENT_SUMS}
      FROM engagement
      GROUP BY brand, source, minute`,
    // One row per author per brand, source and minute: unique authors and potential reach (each
    // author's followers once) over any window are exact sums over this, without reading posts.
    `CREATE TABLE IF NOT EXISTS brand_author_minute (
        brand String,
        source String,
        minute DateTime('UTC'),
        author_id String,
        followers UInt64,
        posts UInt64
      ) ENGINE = SummingMergeTree(posts)
      PARTITION BY toDate(minute)
      ORDER BY (brand, source, minute, author_id)`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS brand_author_minute_mv TO brand_author_minute AS
      SELECT
        arrayJoin(brands) AS brand,
        source,
        toStartOfMinute(created_at) AS minute,
        author_id,
        max(author_followers) AS followers,
        toUInt64(count()) AS posts
      FROM posts
      GROUP BY brand, source, minute, author_id`,
    // The brand's replies to posts that mention it, with the mention's time (filled in by the
    // pipeline): the first reply per mention is its response time, without reading posts.
    `CREATE TABLE IF NOT EXISTS brand_replies (
        brand String,
        reply_to String,
        reply_id String,
        replied_at DateTime('UTC'),
        replied_ms UInt64,
        mention_minute DateTime('UTC'),
        mention_ms UInt64
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toDate(replied_at)
      ORDER BY (brand, mention_minute, reply_to, reply_id)`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS brand_replies_mv TO brand_replies AS
      SELECT own_brand AS brand, reply_to, id AS reply_id, created_at AS replied_at, created_ms AS replied_ms,
        toStartOfMinute(toDateTime(intDiv(answers_mention_ms, 1000), 'UTC')) AS mention_minute, answers_mention_ms AS mention_ms
      FROM posts
      WHERE own_brand != '' AND reply_to != '' AND answers_mention_ms > 0`,
    // Alerts change state (open, acknowledged, resolved): each change is a new row with a higher
    // version; reads take the newest version of each id.
    `CREATE TABLE IF NOT EXISTS alerts (
        id String,
        brand String,
        at DateTime('UTC'),
        at_ms UInt64,
        severity Enum8('info' = 1, 'warning' = 2, 'critical' = 3),
        state Enum8('open' = 1, 'acknowledged' = 2, 'resolved' = 3),
        title String,
        why String,
        version UInt64
      ) ENGINE = ReplacingMergeTree(version)
      PARTITION BY toDate(at)
      ORDER BY (brand, at, id)`,
  ],
}
