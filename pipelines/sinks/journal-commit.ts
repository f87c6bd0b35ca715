// The intake journal's group commit (journal.ts): lines appended in one moment share one write per
// segment and one fsync; `durable()` is the promise of the group that will hold what was appended
// so far. A failed write fails its group and the next (no sender is told it is on disk), and hands
// what was not written back to the journal to account for.
import type { SegmentFile } from './journal-files.ts'

export interface Part<S> {
  segment: S
  lines: string[]
  bytes: number
}

/** The lines of `segment` in `parts`, each with the byte it starts at (after what the file holds). */
export function unwrittenLines<S extends { written: number }>(
  parts: Part<S>[],
  segment: S,
): { line: string; at: number }[] {
  const out: { line: string; at: number }[] = []
  let at = segment.written
  for (const part of parts)
    if (part.segment === segment)
      for (const line of part.lines) {
        out.push({ line, at })
        at += Buffer.byteLength(line)
      }
  return out
}

export interface CommitHandlers<S> {
  /** After each group, failed or not: the segments it wrote to (once each). */
  written(segments: Set<S>): void
  /** A write failed: `lost` were not written (this group's rest and the next's). */
  failed(lost: Part<S>[], error: unknown): Promise<void>
}

export class GroupCommit<S extends { file: SegmentFile; written: number }> {
  private queue: Part<S>[] = []
  private group = deferred()
  private lastGroup: Promise<void> | undefined
  private writing: Promise<void> | undefined
  /** Bytes appended and not written yet. */
  unwritten = 0

  constructor(private readonly handlers: CommitHandlers<S>) {}

  /** Queues a line for `segment`'s next write; the write starts on the next turn of the loop. */
  push(segment: S, line: string, bytes: number): void {
    const last = this.queue.at(-1)
    if (last?.segment === segment) {
      last.lines.push(line)
      last.bytes += bytes
    } else this.queue.push({ segment, lines: [line], bytes })
    this.unwritten += bytes
    this.writing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.writeQueued())
  }

  /** Whether lines of `segment` wait to be written. */
  holds(segment: S): boolean {
    return this.queue.some((q) => q.segment === segment)
  }

  /** Resolves once every line pushed so far is on disk; rejects when its write failed. */
  durable(): Promise<void> {
    if (this.queue.length > 0) return this.group.promise
    return this.writing && this.lastGroup ? this.lastGroup : Promise.resolve()
  }

  /** Resolves once nothing is being written or waits to be. */
  async idle(): Promise<void> {
    while (this.writing) await this.writing
  }

  private async writeQueued(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const parts = this.queue
        const group = this.group
        this.queue = []
        this.group = deferred()
        this.lastGroup = group.promise
        let done = 0
        try {
          for (const part of parts) {
            await part.segment.file.append(part.lines)
            part.segment.written += part.bytes
            this.unwritten -= part.bytes
            done++
          }
          group.resolve()
        } catch (error) {
          const next = this.group
          const lost = [...parts.slice(done), ...this.queue]
          this.queue = []
          this.group = deferred()
          for (const part of lost) this.unwritten -= part.bytes
          await this.handlers.failed(lost, error)
          const failure = error instanceof Error ? error : new Error(String(error))
          group.reject(failure)
          next.reject(failure)
        }
        // Once each, after the whole group: a segment may have been let go meanwhile (its last
        // event settled while a later part was being written), and must not be let go twice.
        this.handlers.written(new Set(parts.map((p) => p.segment)))
      }
    } finally {
      this.writing = undefined
    }
  }
}

function deferred() {
  let resolve!: () => void
  let reject!: (error: Error) => void
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok
    reject = fail
  })
  promise.catch(() => {}) // a failure is the caller's to see, through durable()
  return { promise, resolve, reject }
}
