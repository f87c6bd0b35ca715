// `npx undertow replay FILE`: plays a file of posts into a running Undertow through its webhook
// (`POST /api/ingest`, so the server's pipeline classifies, stores and shows them as from any
// source), at N times the pace the posts were written (`--speed 60`) or as fast as the server takes
// them (`--fast`, for a backfill). A progress bar on stderr (a line every 2 s when stderr is not a
// terminal); at the end a summary: accepted, and
// rejected with how many of each reason (from the file or from the server), each also listed with
// its line with --verbose.
import { parseArgs } from 'node:util'
import { stat } from 'node:fs/promises'
import { Presets, SingleBar } from 'cli-progress'
import type { Post } from '../pipelines/schema.ts'
import { mappingFrom, REPLAY_FIELDS, replayRecords, type ReplayFormat } from '../pipelines/sources/replay.ts'

export const REPLAY_USAGE = `usage: undertow replay FILE [options]

Plays FILE (NDJSON, or CSV with a header row) into a running Undertow through POST /api/ingest
(the server needs SOURCES with webhook, and INGEST_TOKEN).

options:
  --speed N        play at N times the pace the posts were written (default 1); times are moved
                   so that the first post is now
  --fast           as fast as the server takes them, keeping the posts' own times (a backfill)
  --format F       ndjson or csv (default: from the file name)
  --map F=C        take post field F from column or key C; repeatable. Fields: ${REPLAY_FIELDS.join(', ')}
  --server URL     the Undertow server (default http://127.0.0.1:3000)
  --token T        the ingest token (default: the INGEST_TOKEN environment variable)
  --verbose        list every rejected record with its line`

/** Posts and bytes a request carries at most: well under the server's 10,000 and 16 MiB. */
const BATCH = 1_000
const BATCH_BYTES = 8 * 1024 * 1024
/** Sends the server refused for now (503 while stopping, 429) or that did not arrive, tried again. */
const SEND_TRIES = 6
/** A paced replay sends what is due at least this often. */
const TICK_MS = 250

interface Sent {
  accepted: number
  rejected: { line: number; reason: string }[]
}

export async function replay(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      speed: { type: 'string', default: '1' },
      fast: { type: 'boolean', default: false },
      format: { type: 'string' },
      map: { type: 'string', multiple: true, default: [] },
      server: { type: 'string', default: 'http://127.0.0.1:3000' },
      token: { type: 'string', default: process.env.INGEST_TOKEN ?? '' },
      verbose: { type: 'boolean', default: false },
    },
  })
  const [file] = positionals
  if (!file || positionals.length > 1) throw new Error(`replay needs one FILE\n\n${REPLAY_USAGE}`)
  const speed = Number(values.speed)
  if (!values.fast && !(speed > 0 && Number.isFinite(speed)))
    throw new Error(`--speed ${values.speed}: expected a number above 0`)
  const format = (values.format ?? (/\.csv$/i.test(file) ? 'csv' : 'ndjson')) as ReplayFormat
  if (format !== 'ndjson' && format !== 'csv') throw new Error(`--format ${values.format}: expected ndjson or csv`)
  if (!values.token) throw new Error("no ingest token: pass --token or set INGEST_TOKEN (the server's)")
  const mapping = mappingFrom(values.map)
  const size = (await stat(file)).size
  const ingest = new URL('/api/ingest', values.server)

  const rejected: { line: number; reason: string }[] = []
  let accepted = 0
  let lastSent = 0
  const send = async (batch: { line: number; post: Post }[]): Promise<Sent> => {
    let response: Response | undefined
    let body: { accepted?: number; rejected?: { line: number; reason: string }[]; error?: { message?: string } } = {}
    for (let attempt = 1; ; attempt++) {
      try {
        response = await fetch(ingest, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${values.token}` },
          body: batch.map((b) => JSON.stringify(b.post)).join('\n'),
        })
        body = (await response.json().catch(() => ({}))) as typeof body
        if ((response.status !== 503 && response.status !== 429) || attempt === SEND_TRIES) break
      } catch (error) {
        const cause = (error as { cause?: { message?: string } }).cause?.message
        if (attempt === SEND_TRIES)
          throw new Error(`cannot reach ${ingest}: ${(error as Error).message}${cause ? ` (${cause})` : ''}`)
      }
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt))
    }
    if (response!.status !== 202)
      throw new Error(`${ingest} answered ${response!.status}: ${body.error?.message ?? 'no reason given'}`)
    lastSent = batch.at(-1)!.line
    // The server numbers the lines of the request: back to the file's.
    return {
      accepted: body.accepted ?? 0,
      rejected: (body.rejected ?? []).map((r) => ({ line: batch[r.line - 1]?.line ?? 0, reason: r.reason })),
    }
  }
  const flush = async (batch: { line: number; post: Post }[]) => {
    if (batch.length === 0) return
    const sent = await send(batch)
    accepted += sent.accepted
    rejected.push(...sent.rejected)
  }

  const bar = new SingleBar(
    {
      format: 'replay |{bar}| {percentage}% | {accepted} accepted, {rejected} rejected | {pace}',
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 2_000,
    },
    Presets.shades_classic,
  )
  const progress = { bytes: 0 }
  bar.start(size, 0, { accepted: 0, rejected: 0, pace: values.fast ? 'as fast as possible' : `x${speed}` })
  const started = Date.now()
  let firstAt: number | undefined
  let batch: { line: number; post: Post }[] = []
  let batchBytes = 0
  let lastFlush = Date.now()
  try {
    for await (const record of replayRecords(file, format, mapping, progress)) {
      if (!record.ok) {
        rejected.push({ line: record.line, reason: record.reason })
        continue
      }
      let post = record.post
      if (!values.fast) {
        // Paced: each post waits for its moment, x speed, counted from the first; then it is now.
        const at = Date.parse(post.createdAt)
        firstAt ??= at
        const due = started + Math.max(0, at - firstAt) / speed
        if (due - Date.now() > 0 || Date.now() - lastFlush >= TICK_MS) {
          await flush(batch)
          batch = []
          batchBytes = 0
          lastFlush = Date.now()
          // In slices: a timer cannot wait past 24.8 days, and a long wait should stay stoppable.
          while (due > Date.now()) await new Promise((r) => setTimeout(r, Math.min(60_000, due - Date.now())))
        }
        post = { ...post, createdAt: new Date(Math.max(due, Date.now())).toISOString() }
      }
      const bytes = Buffer.byteLength(JSON.stringify(post)) + 1
      if (batch.length > 0 && (batch.length >= BATCH || batchBytes + bytes > BATCH_BYTES)) {
        await flush(batch)
        batch = []
        batchBytes = 0
        lastFlush = Date.now()
      }
      batch.push({ line: record.line, post })
      batchBytes += bytes
      bar.update(progress.bytes, { accepted, rejected: rejected.length })
    }
    await flush(batch)
  } catch (error) {
    // What was sent stays sent: say how far it got, so the rest can be sent again.
    bar.stop()
    printSummary(accepted, rejected, values.verbose, (Date.now() - started) / 1000)
    throw new Error(
      `${(error as Error).message}; stopped after line ${lastSent} of ${file} (the posts up to it were sent)`,
    )
  }
  bar.update(size, { accepted, rejected: rejected.length })
  bar.stop()
  printSummary(accepted, rejected, values.verbose, (Date.now() - started) / 1000)
  return rejected.length > 0 ? 1 : 0
}

function printSummary(
  accepted: number,
  rejected: { line: number; reason: string }[],
  verbose: boolean,
  seconds: number,
) {
  const byReason = new Map<string, number[]>()
  for (const r of rejected) {
    const lines = byReason.get(r.reason)
    if (lines) lines.push(r.line)
    else byReason.set(r.reason, [r.line])
  }
  const lines = [`replay: ${accepted} accepted, ${rejected.length} rejected in ${seconds.toFixed(1)} s`]
  for (const [reason, at] of [...byReason].sort((a, b) => b[1].length - a[1].length)) {
    lines.push(
      `  ${at.length} × ${reason} (line${at.length > 1 ? 's' : ''} ${at.slice(0, 5).join(', ')}${at.length > 5 ? ', …' : ''})`,
    )
  }
  if (verbose) for (const r of rejected) lines.push(`  line ${r.line}: ${r.reason}`)
  console.log(lines.join('\n'))
}
