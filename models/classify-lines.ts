// The stream contract of `undertow classify`: one input line in, one JSON line out, in order.
// Lines are read and classified in batches, so 100,000 lines never sit in memory at once; a line
// that cannot be classified (bad JSON, no text, empty, too long) yields an error object on its
// own output line instead of stopping the stream.
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { ENGLISH, identifyLanguage } from './language.ts'
import type { Classifier } from './classifier.ts'
import { detectIntents } from './middle.ts'

export const CLI_BATCH = 64
/** Longest line classified, in characters (a post is far shorter); a longer one gets an error. */
export const MAX_LINE_CHARS = 100_000

type Parsed = { line: number; text: string; id?: unknown } | { line: number; error: string; id?: unknown }

export function parseLine(raw: string, line: number): Parsed {
  if (raw.length > MAX_LINE_CHARS)
    return { line, error: `line is ${raw.length} characters; the limit is ${MAX_LINE_CHARS}` }
  const trimmed = raw.trim()
  if (trimmed === '') return { line, error: 'empty line' }
  if (!trimmed.startsWith('{')) return { line, text: trimmed }
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch (error) {
    return { line, error: `invalid JSON: ${(error as Error).message}` }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { line, error: 'JSON line is not an object' }
  const record = value as { text?: unknown; id?: unknown }
  // The id travels with the answer, error or not, so callers can match results by id.
  const id = record.id === undefined ? {} : { id: record.id }
  if (typeof record.text !== 'string') return { line, error: 'JSON object has no string "text" field', ...id }
  if (record.text.trim() === '') return { line, error: '"text" is empty', ...id }
  return { line, text: record.text, ...id }
}

export async function classifyLines(
  input: Readable,
  output: Writable,
  classifier: Classifier,
  batchSize = CLI_BATCH,
): Promise<void> {
  let batch: Parsed[] = []
  const flush = async () => {
    const ok = batch.filter((p): p is Extract<Parsed, { text: string }> => 'text' in p)
    let results: Awaited<ReturnType<Classifier['classify']>> = []
    let failure = 'not classified'
    try {
      if (ok.length > 0) results = await classifier.classify(ok.map((p) => p.text))
    } catch (error) {
      // The model failing on one batch answers its lines with errors; the stream goes on.
      failure = `${classifier.name} failed: ${error instanceof Error ? error.message : String(error)}`
    }
    const byLine = new Map(ok.map((p, i) => [p.line, results[i]]))
    let chunk = ''
    for (const p of batch) {
      const r = byLine.get(p.line)
      if ('error' in p || !r) {
        chunk += `${JSON.stringify({ ...(p.id === undefined ? {} : { id: p.id }), line: p.line, error: 'error' in p ? p.error : failure })}\n`
        continue
      }
      const intents = detectIntents(p.text, r.label, undefined, r.cues)
      // Every line is read and answered; `scored: false` says the pipeline would leave it unscored.
      const identified = identifyLanguage(p.text)
      const scored = (classifier.languages ?? ENGLISH).scores(identified)
      chunk += `${JSON.stringify({ ...(p.id === undefined ? {} : { id: p.id }), label: r.label, scores: r.scores, confidence: r.confidence, mixed: r.mixed, uncertain: r.uncertain, intents, emotions: r.emotions ?? [], language: identified.language, scored })}\n`
    }
    batch = []
    if (!output.write(chunk)) await once(output, 'drain')
  }
  let line = 0
  for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
    batch.push(parseLine(raw, ++line))
    if (batch.length >= batchSize) await flush()
  }
  await flush()
}
