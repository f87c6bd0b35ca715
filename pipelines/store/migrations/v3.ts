// Migration 3: middle and needs-reply counts, replies, threads, authors by followers.
// Frozen: a shipped migration is never edited (migrations.ts).
import type { Migration } from './migration.ts'
import { MIGRATION_3_COUNTS, minuteViews } from './counts.ts'

export const V3: Migration = {
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
}
