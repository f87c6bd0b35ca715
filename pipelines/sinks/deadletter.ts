// Where events that cannot go on end up: one NDJSON line each, with the stage that refused them
// and why, so nothing is dropped silently and every refusal can be replayed or inspected.
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { dirname } from 'node:path'
import { from, type Observable, of } from 'rxjs'

export interface DeadLetter {
  record(stage: string, reason: string, payload: unknown): void
  /** Refusals so far, by stage. Reasons stay in the record (and the log): they can hold internals. */
  counts(): Record<string, number>
  /**
   * Resolves once every record so far is on disk (what holds the event waits for it before letting
   * go), and rejects while they cannot be written (a full disk: the holder keeps the event and tries
   * again later); undefined when they are already (a record kept in memory, for tests and tools).
   */
  flush(): Promise<void> | undefined
}

/** flush() as an observable, synchronous when there is nothing to wait for. */
export const flushed$ = (deadLetter: DeadLetter): Observable<void> => {
  const writing = deadLetter.flush()
  return writing ? from(writing) : of(undefined)
}

/** Most bytes the file reaches before it is rotated (to `.1`, the older ones to `.2` and so on). */
export const DEAD_LETTER_MAX_BYTES = 64 * 2 ** 20
/** Rotated files kept; the oldest goes when another is made, so the record takes at most (1 + this) x the bound. */
export const DEAD_LETTER_KEPT = 4
/** Records wait in memory at most this long before they are written, together. */
export const DEAD_LETTER_FLUSH_MS = 100
/** Records waiting past which they are written at once, without waiting for the timer. */
export const DEAD_LETTER_BATCH = 1_000
/** Bytes of records kept in memory while the disk refuses them (a full disk); past it the oldest go to stderr. */
const MAX_UNWRITTEN_BYTES = 16 * 2 ** 20

/** The record as one JSON line; a payload JSON cannot hold (nested too deep, a cycle) is described instead. */
function serialise(record: { at: string; stage: string; reason: string; payload: unknown }): string {
  try {
    return JSON.stringify(record)
  } catch (error) {
    return JSON.stringify({ ...record, payload: `(not serialisable: ${(error as Error).message})` })
  }
}

/**
 * The dead-letter file. Records are appended in batches (one write and one fsync for all that came
 * within DEAD_LETTER_FLUSH_MS), off the stream's path: a burst of bad events costs the stream no
 * synchronous disk writes. Bounded: past `maxBytes` the file is rotated, and only `kept` old ones stay.
 */
export class DeadLetterFile implements DeadLetter {
  private readonly tally = new Map<string, number>()
  private queue: string[] = []
  /** Characters waiting in `queue`. */
  private queued = 0
  /** The last write failed: records wait, bounded, and are tried every second. */
  private failing = false
  private timer: ReturnType<typeof setTimeout> | undefined
  private writing: Promise<void> = Promise.resolve()
  private handle: FileHandle | undefined
  private size: number
  /** Times the file was rotated. */
  rotations = 0

  constructor(
    readonly path: string,
    readonly maxBytes = DEAD_LETTER_MAX_BYTES,
    readonly kept = DEAD_LETTER_KEPT,
  ) {
    mkdirSync(dirname(path), { recursive: true })
    this.size = sizeOf(path)
  }

  record(stage: string, reason: string, payload: unknown): void {
    this.tally.set(stage, (this.tally.get(stage) ?? 0) + 1)
    const line = `${serialise({ at: new Date().toISOString(), stage, reason, payload })}\n`
    this.queue.push(line)
    this.queued += line.length
    // Only while the disk refuses them is memory the bound: the oldest go to stderr, not lost.
    while (this.failing && this.queued > MAX_UNWRITTEN_BYTES && this.queue.length > 1) {
      const oldest = this.queue.shift()!
      this.queued -= oldest.length
      process.stderr.write(`dead-letter: ${this.path} is not taking records; on stderr instead: ${oldest}`)
    }
    if (this.queue.length >= DEAD_LETTER_BATCH && !this.failing) this.flushLater(0)
    else this.timer ??= this.flushLater(this.failing ? 10 * DEAD_LETTER_FLUSH_MS : DEAD_LETTER_FLUSH_MS)
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.tally)
  }

  flush(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    const written = this.writing.then(() => this.writeQueued())
    this.writing = written.catch(() => {})
    return written
  }

  /** A flush of its own (its failure is said on stderr, and tried again). */
  private flushLater(ms: number): ReturnType<typeof setTimeout> | undefined {
    if (ms === 0) return void this.flush().catch(() => {})
    return setTimeout(() => void this.flush().catch(() => {}), ms)
  }

  /** Writes what is queued and closes the file (at a stop; what the disk refuses then was said on stderr). */
  async close(): Promise<void> {
    await this.flush().catch(() => {})
    await this.handle?.close()
    this.handle = undefined
  }

  private async writeQueued(): Promise<void> {
    if (this.queue.length === 0) return
    const lines = this.queue
    this.queue = []
    this.queued = 0
    const text = lines.join('')
    try {
      if (this.size > 0 && this.size + Buffer.byteLength(text) > this.maxBytes) await this.rotate()
      this.handle ??= await open(this.path, 'a')
      await this.handle.appendFile(text)
      await this.handle.datasync()
      this.size += Buffer.byteLength(text)
      this.failing = false
    } catch (error) {
      // A full disk must not kill the stream: the records wait and are tried with the next ones.
      this.queue = [...lines, ...this.queue]
      this.queued += text.length
      await this.handle?.close().catch(() => {})
      this.handle = undefined
      if (!this.failing)
        process.stderr.write(
          `dead-letter: cannot write ${this.path} (${String(error)}); ${this.queue.length} records wait\n`,
        )
      this.failing = true
      this.timer ??= this.flushLater(10 * DEAD_LETTER_FLUSH_MS)
      throw error
    }
  }

  /** dead-letter.ndjson becomes .1, .1 becomes .2, and so on; the one past `kept` is deleted. */
  private async rotate(): Promise<void> {
    await this.handle?.close()
    this.handle = undefined
    const gone = this.kept === 0 ? this.path : `${this.path}.${this.kept}`
    const bytes = sizeOf(gone)
    // Said, not silent: the bound costs the oldest records.
    if (bytes > 0)
      process.stderr.write(
        `dead-letter: deleting ${gone} (${bytes} bytes, the oldest records) to keep the record within ${(this.kept + 1) * this.maxBytes} bytes\n`,
      )
    rmSync(gone, { force: true })
    for (let i = this.kept - 1; i >= 0; i--)
      renameIfThere(i === 0 ? this.path : `${this.path}.${i}`, `${this.path}.${i + 1}`)
    this.size = 0
    this.rotations++
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

function renameIfThere(from: string, to: string): void {
  try {
    renameSync(from, to)
  } catch {
    // nothing there
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

  flush(): undefined {
    return undefined
  }
}
