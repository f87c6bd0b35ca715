// Replay: posts from a file, NDJSON (one JSON object a line) or CSV (a header row), read a record at
// a time (files can be larger than memory) into posts of source `replay`. Fields are taken by the
// Post schema's own names (`text`, `createdAt`, `author.handle`, ...) unless a mapping names the
// file's column or key for them (`--map text=content`). Each record that cannot become a post is
// reported with its line and why; the rest go on.
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { parse as parseCsv } from 'csv-parse'
import type { Post } from '../schema.ts'
import { normaliseOne } from '../transforms/normalise.ts'
import { show } from './show.ts'

export type ReplayFormat = 'ndjson' | 'csv'

/** The Post fields a file can fill, by their path. */
export const REPLAY_FIELDS = [
  'id',
  'text',
  'createdAt',
  'url',
  'lang',
  'author.id',
  'author.handle',
  'author.displayName',
  'author.followers',
  'replyTo',
  'quoteOf',
  'engagement.likes',
  'engagement.reposts',
  'engagement.replies',
  'engagement.quotes',
] as const
export type ReplayField = (typeof REPLAY_FIELDS)[number]
const COUNTS = new Set<ReplayField>([
  'author.followers',
  'engagement.likes',
  'engagement.reposts',
  'engagement.replies',
  'engagement.quotes',
])

/** `--map field=column` flags into a mapping; unknown fields are refused, naming the known ones. */
export function mappingFrom(flags: readonly string[]): Partial<Record<ReplayField, string>> {
  const mapping: Partial<Record<ReplayField, string>> = {}
  for (const flag of flags) {
    const [field, column] = [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)]
    if (!flag.includes('=') || column === '') throw new Error(`--map ${flag}: expected field=column, e.g. text=content`)
    if (!(REPLAY_FIELDS as readonly string[]).includes(field))
      throw new Error(`--map ${flag}: "${field}" is not a post field (expected one of ${REPLAY_FIELDS.join(', ')})`)
    mapping[field as ReplayField] = column
  }
  return mapping
}

/** A key of an object, by a dotted path when the object has no key of that exact name. */
function lookup(record: Record<string, unknown>, path: string): unknown {
  if (path in record) return record[path]
  let value: unknown = record
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = target
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>
  node[keys.at(-1)!] = value
}

export type ReplayRecord = { line: number; ok: true; post: Post } | { line: number; ok: false; reason: string }

/**
 * One record as a post of source `replay`: its id is `replay:` and the record's own id (a record
 * without one is named by its line), its handle stands in for a missing author id and name, counts
 * are numbers, and then the Post schema decides, as for any source.
 */
export function postFrom(
  record: Record<string, unknown>,
  mapping: Partial<Record<ReplayField, string>>,
  line: number,
): ReplayRecord {
  const post: Record<string, unknown> = {}
  for (const field of REPLAY_FIELDS) {
    let value = lookup(record, mapping[field] ?? field)
    if (value === undefined || value === '') continue
    if (COUNTS.has(field)) {
      // Only text is read as a number: an object may not turn into one (`{"toString": false}`).
      const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN
      if (!Number.isSafeInteger(n) || n < 0)
        return { line, ok: false, reason: `${mapping[field] ?? field}: expected a count, got ${show(value)}` }
      value = n
    } else if (typeof value !== 'string') value = typeof value === 'number' ? String(value) : value
    setPath(post, field, value)
  }
  const author = (post.author ?? {}) as Record<string, unknown>
  const handle = author.handle ?? author.id
  post.author = {
    id: author.id ?? handle,
    handle,
    displayName: author.displayName ?? handle ?? '',
    followers: author.followers ?? 0,
  }
  post.engagement = { likes: 0, reposts: 0, replies: 0, quotes: 0, ...((post.engagement as object | undefined) ?? {}) }
  // The id goes into a string: anything but text (a number became text above) is refused here, as
  // an object would not turn into one (`{"toString": false}` cannot).
  if (post.id !== undefined && typeof post.id !== 'string')
    return { line, ok: false, reason: `${mapping.id ?? 'id'}: expected text or a number, got ${show(post.id)}` }
  post.id = `replay:${post.id ?? `line-${line}`}`
  // Links inside the file point at its own records: the same prefix keeps threads together.
  for (const link of ['replyTo', 'quoteOf'] as const)
    if (typeof post[link] === 'string') post[link] = `replay:${post[link]}`
  if (typeof post.createdAt === 'string' && /^\d{9,13}$/.test(post.createdAt)) {
    // Epoch seconds or milliseconds, as exports often hold.
    const n = Number(post.createdAt)
    post.createdAt = new Date(n < 1e11 ? n * 1000 : n).toISOString()
  }
  const normalised = normaliseOne({ source: 'replay', url: '', lang: '', brands: [], terms: [], ...post })
  return normalised.ok ? { line, ok: true, post: normalised.post } : { line, ok: false, reason: normalised.reason }
}

/** The records of a file, in order, each a post or the reason it is not one; `progress.bytes` counts what was read. */
export async function* replayRecords(
  path: string,
  format: ReplayFormat,
  mapping: Partial<Record<ReplayField, string>>,
  progress = { bytes: 0 },
): AsyncGenerator<ReplayRecord> {
  const input = createReadStream(path)
  input.on('data', (chunk) => (progress.bytes += chunk.length))
  if (format === 'ndjson') {
    let line = 0
    for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      line++
      if (text.trim() === '') continue
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch (error) {
        yield { line, ok: false, reason: `not JSON: ${(error as Error).message}` }
        continue
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        yield { line, ok: false, reason: 'not a JSON object' }
      else yield postFrom(value as Record<string, unknown>, mapping, line)
    }
    return
  }
  // CSV: the header names the columns; a record's line is its last (quoted fields can span lines).
  // A record the parser cannot read (a stray quote, more or fewer fields than the header) is
  // reported with its line, and the reading goes on.
  const skipped: ReplayRecord[] = []
  const parser = input.pipe(
    parseCsv({
      columns: true,
      bom: true,
      skip_empty_lines: true,
      relax_quotes: true,
      skip_records_with_error: true,
      info: true,
      on_skip: (error) => {
        const e = error as (Error & { lines?: number }) | undefined
        if (e)
          skipped.push({
            line: e.lines ?? 0,
            ok: false,
            reason: `not a CSV record: ${e.message.replace(/^Invalid Record Length: /, '').split(' at line')[0]}`,
          })
      },
    }),
  )
  for await (const { record, info } of parser as AsyncIterable<{
    record: Record<string, string>
    info: { lines: number }
  }>) {
    yield* skipped.splice(0)
    yield postFrom(record, mapping, info.lines)
  }
  yield* skipped.splice(0)
}
