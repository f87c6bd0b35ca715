// Migration 4: emotions and language of each post; unscored posts counted per minute.
// Frozen: a shipped migration is never edited (migrations.ts).
import type { Migration } from './migration.ts'
import { EMOTION_COUNTS, INTENT_COUNTS, MIGRATION_4_COUNTS, minuteViews } from './counts.ts'

export const V4: Migration = {
  version: 4,
  name: 'emotions and language of each post; unscored posts, and emotions, counted per minute',
  statements: [
    // The emotions the classifier reads in a post (schema.ts, EMOTIONS), stored with it and
    // counted per minute like the intents. Posts stored before this migration hold none.
    `ALTER TABLE posts ADD COLUMN emotions Array(String) AFTER intents`,
    ...EMOTION_COUNTS.map(
      (e, k) =>
        `ALTER TABLE brand_source_minute ADD COLUMN ${e} UInt64 AFTER ${k === 0 ? INTENT_COUNTS.at(-1) : EMOTION_COUNTS[k - 1]}`,
    ),
    // The language read from a post's text (models/language.ts), beside the network's tag;
    // a post in one the classifier does not read is stored with the label 'unscored' (its
    // probabilities 0) and counted apart. Adding a value to an Enum rewrites no data.
    `ALTER TABLE posts ADD COLUMN language String AFTER lang`,
    `ALTER TABLE posts MODIFY COLUMN label Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1, 'unscored' = 2)`,
    `ALTER TABLE brand_source_minute ADD COLUMN unscored UInt64 AFTER positive`,
    ...minuteViews(MIGRATION_4_COUNTS),
  ],
}
