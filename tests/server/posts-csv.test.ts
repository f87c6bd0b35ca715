// GET /api/posts.csv read back the way other tools read it: records split on LF as well as CRLF
// (csv-parse, and a line-oriented splitter that knows only quotes), one row per post, and no cell
// nor line inside a cell that a spreadsheet would run as a formula. HEAD answers without exporting.
import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScoredPost } from '../../pipelines/schema.ts'
import { testApp } from '../support/server.ts'

let t: Awaited<ReturnType<typeof testApp>>

// Multi-line posts are common on Bluesky and Mastodon; these also try to smuggle formulas in.
const TEXTS = [
  'quokka one line',
  'quokka\n=cmd|"/C calc"!A0',
  'quokka\r\n@SUM(1+1)*cmd|"/C calc"!A0\n-2+3',
  '+quokka\n\n\t=1+1',
  'quokka\rlone CR\r=HYPERLINK("http://evil.example")',
  'quokka, "quoted", and\nsplit',
  // Spreadsheets skip leading spaces, and take full-width signs (an IME's) as formulas too.
  'quokka\n  =HYPERLINK("http://evil.example")',
  '\u3000\uFF1D1+1 quokka\n\u00a0@SUM(1)\n\uFF0B1\n\uFF0D1\n\uFF20A1',
]

function post(i: number, text: string): ScoredPost {
  return {
    id: `webhook:csv-${i}`,
    source: 'webhook',
    url: '',
    author: { id: `a${i}`, handle: i === 0 ? '=handle' : `author${i}`, displayName: '', followers: 3 },
    text,
    lang: 'en',
    language: 'en',
    createdAt: new Date(Date.UTC(2026, 10, 23, 9, 0, i)).toISOString(),
    engagement: { likes: 1, reposts: 0, replies: 0, quotes: 0 },
    brands: ['Lumen'],
    terms: ['lumen'],
    sentiment: {
      label: 'neutral',
      scores: { negative: 0, neutral: 1, positive: 0 },
      confidence: 1,
      mixed: false,
      uncertain: false,
      intents: [],
      emotions: [],
    },
  }
}

beforeAll(async () => {
  t = await testApp()
  await t.store.insertPosts(TEXTS.map((text, i) => post(i, text)))
})
afterAll(() => t.close())

/** Records as a line-oriented tool splits them: at every LF (or CRLF) outside double quotes. */
function splitRecords(csv: string): string[] {
  const records: string[] = []
  let quoted = false
  let start = 0
  for (let i = 0; i < csv.length; i++) {
    if (csv[i] === '"') quoted = !quoted
    else if (csv[i] === '\n' && !quoted) {
      records.push(csv.slice(start, csv[i - 1] === '\r' ? i - 1 : i))
      start = i + 1
    }
  }
  if (start < csv.length) records.push(csv.slice(start))
  return records
}

// What a spreadsheet runs: = + - @ or their full-width forms after any spaces, or a tab or CR first.
const FORMULA = /^[\s\u3000]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|^[\t\r]/
const DEFUSED = /^'(?=[\s\u3000]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|[\t\r])/
const linesOf = (cell: string) => cell.split(/\r\n|\n|\r/)

describe('GET /api/posts.csv', () => {
  it('gives one row per post to readers that split on LF, every line break inside quotes', async () => {
    const res = await t.app.inject('/api/posts.csv?q=quokka')
    expect(res.statusCode, res.body).toBe(200)
    const body = res.body.replace(/^\ufeff/, '')
    // csv-parse told that LF ends a record as well as CRLF.
    const rows = parse(body, { columns: true, record_delimiter: ['\r\n', '\n'] }) as Record<string, string>[]
    expect(rows).toHaveLength(TEXTS.length)
    expect(rows.map((r) => r.id).sort()).toEqual(TEXTS.map((_, i) => `webhook:csv-${i}`).sort())
    // The splitter: the header and one record per post, each with every column.
    const records = splitRecords(body)
    expect(records).toHaveLength(TEXTS.length + 1)
    // A quoted cell's text reads back whole, save the apostrophes before formula-like lines.
    for (const row of rows) {
      const i = Number(row.id!.split('-')[1])
      expect(linesOf(row.text!).map((line) => line.replace(DEFUSED, ''))).toEqual(linesOf(TEXTS[i]!))
    }
  })

  it('lets no cell, nor any line inside a cell, start like a formula', async () => {
    const body = (await t.app.inject('/api/posts.csv?q=quokka')).body.replace(/^\ufeff/, '')
    const rows = parse(body, { columns: true, record_delimiter: ['\r\n', '\n'] }) as Record<string, string>[]
    const cells = rows.flatMap((r) => Object.values(r))
    expect(cells.flatMap(linesOf).filter((line) => FORMULA.test(line))).toEqual([])
    // The raw file line by line too: a line inside a quoted cell starts with its apostrophe.
    expect(body.split(/\r\n|\n|\r/).filter((line) => FORMULA.test(line))).toEqual([])
    expect(rows.find((r) => r.id === 'webhook:csv-0')!.authorHandle).toBe("'=handle")
  })

  it('HEAD answers the headers of the download without running the export', async () => {
    const scan = t.store.scanPosts
    const count = t.store.countMatches
    let ran = 0
    t.store.scanPosts = (...args) => (ran++, scan.apply(t.store, args))
    t.store.countMatches = (...args) => (ran++, count.apply(t.store, args))
    try {
      const res = await t.app.inject({ method: 'HEAD', url: '/api/posts.csv?q=quokka&from=2026-11-23T09:00:00Z' })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8')
      expect(res.headers['content-disposition']).toBe(
        'attachment; filename="undertow-posts-2026-11-23T090000Z-end.csv"',
      )
      expect(res.body).toBe('')
      expect(ran).toBe(0)
      // Its filters are checked all the same.
      expect((await t.app.inject({ method: 'HEAD', url: '/api/posts.csv?labels=angry' })).statusCode).toBe(400)
    } finally {
      t.store.scanPosts = scan
      t.store.countMatches = count
    }
  })
})
