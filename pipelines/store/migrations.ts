// The schema as code: numbered migrations, each applied once and recorded in schema_migrations.
// Never edit a migration that has shipped; add the next one.
//
// posts holds every classified post; brand_minute holds per-brand, per-minute counts, fed by a
// materialized view on insert. brand_minute is a SummingMergeTree: rows for the same key are
// summed only when parts merge, so every read sums with GROUP BY to be right before merges.

export interface Migration {
  version: number
  name: string
  statements: string[]
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'posts, engagement and per-minute brand aggregates',
    statements: [
      `CREATE TABLE IF NOT EXISTS posts (
        id String,
        source LowCardinality(String),
        url String,
        author_id String,
        author_handle String,
        author_name String,
        author_followers UInt64,
        text String,
        lang LowCardinality(String),
        created_at DateTime64(3, 'UTC'),
        reply_to String,
        quote_of String,
        likes UInt32,
        reposts UInt32,
        replies UInt32,
        quotes UInt32,
        brands Array(LowCardinality(String)),
        terms Array(String),
        own_brand LowCardinality(String),
        label Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1),
        p_negative Float32,
        p_neutral Float32,
        p_positive Float32,
        confidence Float32,
        mixed Bool,
        uncertain Bool,
        intents Array(LowCardinality(String)),
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = MergeTree
      PARTITION BY toDate(created_at)
      ORDER BY (created_at, id)`,
      `CREATE TABLE IF NOT EXISTS engagement (
        post_id String,
        at DateTime64(3, 'UTC'),
        likes UInt32,
        reposts UInt32,
        replies UInt32,
        quotes UInt32
      ) ENGINE = MergeTree
      PARTITION BY toDate(at)
      ORDER BY (post_id, at)`,
      `CREATE TABLE IF NOT EXISTS brand_minute (
        brand LowCardinality(String),
        minute DateTime('UTC'),
        posts UInt64,
        negative UInt64,
        neutral UInt64,
        positive UInt64,
        mixed UInt64,
        uncertain UInt64
      ) ENGINE = SummingMergeTree
      PARTITION BY toDate(minute)
      ORDER BY (brand, minute)`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS brand_minute_mv TO brand_minute AS
      SELECT
        arrayJoin(brands) AS brand,
        toStartOfMinute(created_at) AS minute,
        count() AS posts,
        countIf(label = 'negative') AS negative,
        countIf(label = 'neutral') AS neutral,
        countIf(label = 'positive') AS positive,
        countIf(mixed) AS mixed,
        countIf(uncertain) AS uncertain
      FROM posts
      GROUP BY brand, minute`,
    ],
  },
]

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version UInt32,
  name String,
  applied_at DateTime DEFAULT now()
) ENGINE = MergeTree ORDER BY version`
