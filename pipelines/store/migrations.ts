// The schema as code: numbered migrations, each applied once and recorded in schema_migrations.
// Never edit a migration that has shipped; add the next one.
//
// One DDL for both modes: it has to run on the engine inside chdb (current ClickHouse) and on the
// oldest server we support, Debian's clickhouse-server 18.16. So: DateTime('UTC') plus an epoch-ms
// column instead of DateTime64, UInt8 instead of Bool, String instead of LowCardinality, day
// partitions dropped by retention instead of TTL, and no Nullable.
//
// Idempotence: a post is written at most once (Store.insertPosts skips ids already stored, and the
// sink is the one writer of each table), so no table ever holds a row twice and every query is
// right before merges without FINAL; the materialized views, which fire on every insert, count each
// post once. posts, engagement and brand_replies are ReplacingMergeTrees keyed by id all the same,
// so that a row written twice outside that contract collapses at the next merge. Alerts change
// state by new rows, so their reads take the newest version (FINAL: the table is small).
//
// The *_minute tables are SummingMergeTrees: rows for the same key are summed only when parts
// merge, so every read sums with GROUP BY. docs/storage.md maps all of this onto a cluster.

export interface Migration {
  version: number
  name: string
  statements: string[]
}

// A migration is frozen once shipped: the intents are spelled out, not read from schema.ts, so a
// new intent needs a migration of its own (ALTER TABLE ... ADD COLUMN, and a new view).
export const INTENT_COUNTS = ['question', 'suggestion', 'complaint', 'praise', 'comparison', 'support']
/** The emotions counted per minute from migration 4 on (frozen like the intents). */
export const EMOTION_COUNTS = ['anger', 'joy', 'optimism', 'sadness']
const ENGAGEMENT_SUMS = ['likes', 'reposts', 'replies', 'quotes'].map((c) => `toUInt64(sum(${c})) AS ${c}`).join(',\n        ')

/** What brand_source_minute counts beyond migration 3's columns, from migration 4 on. */
export interface LaterCounts {
  /** Posts in a language the classifier does not read (label 'unscored'). */
  unscored: boolean
  emotions: readonly string[]
}
const MIGRATION_3_COUNTS: LaterCounts = { unscored: false, emotions: [] }
export const MIGRATION_4_COUNTS: LaterCounts = { unscored: true, emotions: EMOTION_COUNTS }

/**
 * brand_source_minute's counts of one post, as the view over posts computes them (from migration 3
 * on; `later` from 4 on). recount-queries.ts reads the same over the stored rows.
 */
export function postCounts(later: LaterCounts): string[] {
  return [
    'toUInt64(count()) AS posts',
    ...['negative', 'neutral', 'positive', ...(later.unscored ? ['unscored'] : [])].map((l) => `toUInt64(countIf(label = '${l}')) AS ${l}`),
    'toUInt64(countIf(mixed = 1)) AS mixed',
    'toUInt64(countIf(uncertain = 1)) AS uncertain',
    'toUInt64(sum(middle)) AS middle',
    'toUInt64(countIf(has(needs_reply, brand))) AS needs_reply',
    ...INTENT_COUNTS.map((i) => `toUInt64(countIf(has(intents, '${i}'))) AS ${i}`),
    ...later.emotions.map((e) => `toUInt64(countIf(has(emotions, '${e}'))) AS ${e}`),
  ]
}

/** The columns postCounts fills, in its order. */
export const countColumns = (later: LaterCounts): string[] => ['posts', 'negative', 'neutral', 'positive', ...(later.unscored ? ['unscored'] : []), 'mixed', 'uncertain', 'middle', 'needs_reply', ...INTENT_COUNTS, ...later.emotions]

/** The two views that fill brand_source_minute, made anew (18.x wants every column named). */
function minuteViews(later: LaterCounts): string[] {
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

export const MIGRATIONS: Migration[] = [
  {
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
  },
  {
    version: 2,
    name: 'post deletions',
    statements: [
      // Posts their authors deleted (of those Undertow held): kept so a deletion survives an outage
      // in the spool like any write, and so the posts table can be purged of them.
      `CREATE TABLE IF NOT EXISTS post_deletions (
        post_id String,
        at DateTime('UTC'),
        at_ms UInt64
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toDate(at)
      ORDER BY post_id`,
    ],
  },
  {
    version: 3,
    name: 'middle and needs-reply counts per minute; replies to mentions that needed one; threads under own posts; authors keyed by followers',
    statements: [
      // The middle of the crowd (metrics/definition.ts, isMiddle), decided once per post by the
      // pipeline and stored with it, so the live figures and the stored ones cannot disagree on
      // it; counted per minute like the labels. Posts stored before this migration hold 0: the
      // history of middle share starts with it. Both views are made anew to fill the column
      // (18.x wants every column named).
      `ALTER TABLE posts ADD COLUMN middle UInt8 AFTER uncertain`,
      `ALTER TABLE brand_source_minute ADD COLUMN middle UInt64 AFTER uncertain`,
      // The same for which brands a mention waits for a reply from (metrics/replies.ts), and on a
      // brand's reply, whether the mention it answers needed one: the response rate and times are
      // over those mentions. Before this migration both read 0.
      `ALTER TABLE posts ADD COLUMN needs_reply Array(String) AFTER intents`,
      `ALTER TABLE posts ADD COLUMN mention_needs_reply UInt8 AFTER answers_mention_ms`,
      // A reply in a conversation under a brand's own post: that post, the brand, the depth
      // (metrics/dialogue.ts). Empty and 0 elsewhere.
      `ALTER TABLE posts ADD COLUMN thread_root String AFTER mention_needs_reply`,
      `ALTER TABLE posts ADD COLUMN thread_brand String AFTER thread_root`,
      `ALTER TABLE posts ADD COLUMN thread_depth UInt16 AFTER thread_brand`,
      `ALTER TABLE brand_source_minute ADD COLUMN needs_reply UInt64 AFTER middle`,
      `ALTER TABLE brand_replies ADD COLUMN needed UInt8`,
      `DROP TABLE IF EXISTS brand_replies_mv`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS brand_replies_mv TO brand_replies AS
      SELECT own_brand AS brand, reply_to, id AS reply_id, created_at AS replied_at, created_ms AS replied_ms,
        toStartOfMinute(toDateTime(intDiv(answers_mention_ms, 1000), 'UTC')) AS mention_minute, answers_mention_ms AS mention_ms,
        mention_needs_reply AS needed
      FROM posts
      WHERE own_brand != '' AND reply_to != '' AND answers_mention_ms > 0`,
      ...minuteViews(MIGRATION_3_COUNTS),
      // Reach counts each author once, with their followers as of their latest post in the window:
      // the most seen in that minute. A SummingMergeTree keeps an arbitrary value of a column it
      // does not sum when rows merge, so followers join the key and rows that differ in it never
      // merge; reads take argMax(followers, (minute, followers)) per author.
      `CREATE TABLE IF NOT EXISTS brand_authors (
        brand String,
        source String,
        minute DateTime('UTC'),
        author_id String,
        followers UInt64,
        posts UInt64
      ) ENGINE = SummingMergeTree(posts)
      PARTITION BY toDate(minute)
      ORDER BY (brand, source, minute, author_id, followers)`,
      `DROP TABLE IF EXISTS brand_author_minute_mv`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS brand_authors_mv TO brand_authors AS
      SELECT
        arrayJoin(brands) AS brand,
        source,
        toStartOfMinute(created_at) AS minute,
        author_id,
        author_followers AS followers,
        toUInt64(count()) AS posts
      FROM posts
      GROUP BY brand, source, minute, author_id, followers`,
      `INSERT INTO brand_authors (brand, source, minute, author_id, followers, posts)
      SELECT brand, source, minute, author_id, followers, posts FROM brand_author_minute`,
      `DROP TABLE IF EXISTS brand_author_minute`,
    ],
  },
  {
    version: 4,
    name: 'emotions and language of each post; unscored posts, and emotions, counted per minute',
    statements: [
      // The emotions the classifier reads in a post (schema.ts, EMOTIONS), stored with it and
      // counted per minute like the intents. Posts stored before this migration hold none.
      `ALTER TABLE posts ADD COLUMN emotions Array(String) AFTER intents`,
      ...EMOTION_COUNTS.map((e, k) => `ALTER TABLE brand_source_minute ADD COLUMN ${e} UInt64 AFTER ${k === 0 ? INTENT_COUNTS.at(-1) : EMOTION_COUNTS[k - 1]}`),
      // The language read from a post's text (transforms/language.ts), beside the network's tag;
      // a post in one the classifier does not read is stored with the label 'unscored' (its
      // probabilities 0) and counted apart. Adding a value to an Enum rewrites no data.
      `ALTER TABLE posts ADD COLUMN language String AFTER lang`,
      `ALTER TABLE posts MODIFY COLUMN label Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1, 'unscored' = 2)`,
      `ALTER TABLE brand_source_minute ADD COLUMN unscored UInt64 AFTER positive`,
      ...minuteViews(MIGRATION_4_COUNTS),
    ],
  },
]

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version UInt32,
  name String,
  applied_at DateTime DEFAULT now()
) ENGINE = MergeTree ORDER BY version`

/**
 * Data written by builds before the storage issue used a schema that servers older than 19.x
 * cannot hold; it was never released, so instead of a conversion it gets a clear message.
 */
export const PRE_RELEASE_V1 = 'posts, engagement and per-minute brand aggregates'
