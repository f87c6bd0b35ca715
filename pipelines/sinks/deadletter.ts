// Where events that cannot go on end up: one NDJSON line each, with the stage that refused them
// and why, so nothing is dropped silently and every refusal can be replayed or inspected.
import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

export interface DeadLetter {
  record(stage: string, reason: string, payload: unknown): void
  /** Refusals so far, by stage. Reasons stay in the record (and the log): they can hold internals. */
  counts(): Record<string, number>
}

/** The record as one JSON line; a payload JSON cannot hold (nested too deep, a cycle) is described instead. */
function serialise(record: { at: string; stage: string; reason: string; payload: unknown }): string {
  try {
    return JSON.stringify(record)
  } catch (error) {
    return JSON.stringify({ ...record, payload: `(not serialisable: ${(error as Error).message})` })
  }
}

export class DeadLetterFile implements DeadLetter {
  private readonly tally = new Map<string, number>()

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true })
  }

  record(stage: string, reason: string, payload: unknown): void {
    this.tally.set(stage, (this.tally.get(stage) ?? 0) + 1)
    const line = `${serialise({ at: new Date().toISOString(), stage, reason, payload })}\n`
    try {
      // Synchronous on purpose: refusals are rare, and a crash right after must not lose the record.
      appendFileSync(this.path, line)
    } catch (error) {
      // A full disk must not kill the stream; the record goes to stderr instead.
      process.stderr.write(`dead-letter: cannot write ${this.path} (${String(error)}): ${line}`)
    }
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.tally)
  }
}

/** Refusals kept in memory: for benchmarks, tools and tests that inspect them. */
export class MemoryDeadLetter implements DeadLetter {
  readonly records: { stage: string; reason: string; payload: unknown }[] = []

  record(stage: string, reason: string, payload: unknown): void {
    this.records.push({ stage, reason, payload })
  }

  counts(): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const r of this.records) counts[r.stage] = (counts[r.stage] ?? 0) + 1
    return counts
  }
}
