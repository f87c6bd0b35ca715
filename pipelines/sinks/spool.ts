// The sink's on-disk spool: batches that could not reach the store wait here, one file a batch,
// until the store is back. Files are named by the batch's number (reserved when the batch arrived,
// and growing across restarts), and drain lowest first: in arrival order, even when an older batch
// reaches the spool after newer ones. A file is written to a temporary name and renamed, so a crash
// leaves whole batches or none; the spool survives restarts and drains before new writes.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'

export interface SpoolSegment<T> {
  seq: number
  items: T[]
  /** Lines that did not parse (a file damaged outside Undertow), with why. */
  damaged: { line: number; reason: string }[]
}

const SEGMENT = /^(\d{12})\.ndjson$/

export class Spool<T> {
  private readonly segments = new Map<number, number>() // seq -> bytes
  private nextSeq = 1
  private size = 0

  constructor(
    readonly dir: string,
    /** Bound on the spool's size on disk; a batch that would pass it is refused. */
    readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true })
    const found: [number, number][] = []
    for (const name of readdirSync(dir)) {
      const match = SEGMENT.exec(name)
      // A .tmp file is a batch whose spooling a crash interrupted: it was never accepted.
      if (!match) {
        if (name.endsWith('.tmp')) unlinkSync(join(dir, name))
        continue
      }
      found.push([Number(match[1]), statSync(join(dir, name)).size])
    }
    found.sort((a, b) => a[0] - b[0])
    for (const [seq, bytes] of found) {
      this.segments.set(seq, bytes)
      this.size += bytes
      this.nextSeq = seq + 1
    }
  }

  /** Batches waiting. */
  pending(): number {
    return this.segments.size
  }

  bytes(): number {
    return this.size
  }

  /** A number for a batch, above every number the spool holds or has given. */
  reserve(): number {
    return this.nextSeq++
  }

  /**
   * Writes a batch durably under its number (a new one if not given); returns the number, or
   * undefined (nothing written) when it would pass maxBytes.
   */
  append(items: readonly T[], seq = this.reserve()): number | undefined {
    const body = `${items.map((item) => JSON.stringify(item)).join('\n')}\n`
    const bytes = Buffer.byteLength(body)
    if (this.size + bytes > this.maxBytes || this.segments.has(seq)) return undefined
    const tmp = join(this.dir, `${name(seq)}.tmp`)
    const fd = openSync(tmp, 'w')
    try {
      writeSync(fd, body)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, join(this.dir, name(seq)))
    this.segments.set(seq, bytes)
    this.size += bytes
    return seq
  }

  /** The number of the oldest batch waiting. */
  oldestSeq(): number | undefined {
    let oldest: number | undefined
    for (const seq of this.segments.keys()) if (oldest === undefined || seq < oldest) oldest = seq
    return oldest
  }

  oldest(): SpoolSegment<T> | undefined {
    const seq = this.oldestSeq()
    if (seq === undefined) return undefined
    const items: T[] = []
    const damaged: SpoolSegment<T>['damaged'] = []
    const lines = readFileSync(join(this.dir, name(seq)), 'utf8').split('\n')
    lines.forEach((line, i) => {
      if (line === '') return
      try {
        items.push(JSON.parse(line) as T)
      } catch (error) {
        damaged.push({ line: i + 1, reason: String(error) })
      }
    })
    return { seq, items, damaged }
  }

  remove(seq: number): void {
    const bytes = this.segments.get(seq)
    if (bytes === undefined) return
    const path = join(this.dir, name(seq))
    if (existsSync(path)) unlinkSync(path)
    this.segments.delete(seq)
    this.size -= bytes
  }
}

function name(seq: number): string {
  return `${String(seq).padStart(12, '0')}.ndjson`
}
