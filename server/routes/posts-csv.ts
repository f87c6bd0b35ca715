// The CSV of GET /api/posts.csv: one row per post, RFC 4180 (CRLF, fields quoted when they hold a
// comma, a quote or any line break, LF alone too), UTF-8 with a BOM so spreadsheets read the text
// as UTF-8.
import { type Stringifier, stringify } from 'csv-stringify'
import { UNSCORED } from '../../pipelines/vocabulary.ts'
import type { ScoredPost } from '../../pipelines/schema.ts'
import type { PostFilter } from '../../pipelines/store/store.ts'

/**
 * The columns, in order; lists (brands, intents, emotions) are joined with '|'. An unscored post
 * (a language not read) has the label `unscored` and the reading's columns empty.
 */
export const CSV_COLUMNS = [
  'id',
  'source',
  'createdAt',
  'brands',
  'authorHandle',
  'followers',
  'language',
  'label',
  'negative',
  'neutral',
  'positive',
  'mixed',
  'uncertain',
  'intents',
  'emotions',
  'likes',
  'reposts',
  'replies',
  'quotes',
  'url',
  'text',
] as const

export function csvRecord(p: ScoredPost): Record<(typeof CSV_COLUMNS)[number], string | number | boolean> {
  const { sentiment: s, engagement: e } = p
  return {
    id: p.id,
    source: p.source,
    createdAt: p.createdAt,
    brands: p.brands.join('|'),
    authorHandle: p.author.handle,
    followers: p.author.followers,
    language: p.language,
    label: s?.label ?? UNSCORED,
    negative: s?.scores.negative ?? '',
    neutral: s?.scores.neutral ?? '',
    positive: s?.scores.positive ?? '',
    mixed: s?.mixed ?? '',
    uncertain: s?.uncertain ?? '',
    intents: s?.intents.join('|') ?? '',
    emotions: s?.emotions.join('|') ?? '',
    likes: e.likes,
    reposts: e.reposts,
    replies: e.replies,
    quotes: e.quotes,
    url: p.url,
    text: p.text,
  }
}

const LINE_BREAK = /(\r\n|\n|\r)/
/** = + - @ (or their full-width forms, which spreadsheets with an IME take too) after any spaces; or a tab or CR first. */
const FORMULA = /^[\s\u3000]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|^[\t\r]/

/**
 * Post text is anyone's: a cell, or a line inside one, that begins with = + - @ (full-width too,
 * and after spaces: spreadsheets skip them), a tab or a CR would run as a formula when the file is
 * opened in a spreadsheet (CSV injection), or in any tool that reads records line by line, so it
 * gets a leading apostrophe. Numbers are left alone.
 */
export const defuse = (text: string) =>
  text
    .split(LINE_BREAK)
    .map((part, i) => (i % 2 === 0 && FORMULA.test(part) ? `'${part}` : part))
    .join('')

/** A stream that takes csvRecord()s and gives the CSV text, header first. */
export function postsCsv(): Stringifier {
  return stringify({
    header: true,
    columns: [...CSV_COLUMNS],
    record_delimiter: 'windows',
    bom: true,
    cast: { boolean: (value) => String(value), string: defuse },
    // csv-stringify quotes only its own record delimiter (CRLF): a lone LF or CR in a post would
    // end the row for every reader that splits records on it.
    quoted_match: /[\r\n]/,
  })
}

// Times reach here canonical (routes/times.ts).
const stamp = (iso: string | undefined, none: string) =>
  iso
    ? new Date(iso)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replaceAll(':', '')
    : none

/** `undertow-posts-<from>-<to>.csv`, the times in UTC without colons (which file systems refuse). */
export const csvFilename = (filter: PostFilter) =>
  `undertow-posts-${stamp(filter.from, 'start')}-${stamp(filter.to, 'end')}.csv`
