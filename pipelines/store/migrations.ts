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
import { V1 } from './migrations/v1.ts'
import { V2 } from './migrations/v2.ts'
import { V3 } from './migrations/v3.ts'
import { V4 } from './migrations/v4.ts'
import type { Migration } from './migrations/migration.ts'

export {
  countColumns,
  MIGRATION_4_COUNTS,
  postCounts,
} from './migrations/counts.ts'

/** In order; each in a file of its own (migrations/). */
export const MIGRATIONS: Migration[] = [V1, V2, V3, V4]

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
