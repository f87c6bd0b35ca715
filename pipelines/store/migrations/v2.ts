// Migration 2: post deletions.
// Frozen: a shipped migration is never edited (migrations.ts).
import type { Migration } from './migration.ts'

export const V2: Migration = {
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
}
