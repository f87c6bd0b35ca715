// The sink's on-disk spool: batches that could not reach the store wait here, one file a batch, in
// arrival order, until the store is back. A file is written to a temporary name and renamed, so a
// crash leaves whole batches or none; the spool survives restarts and drains before new writes.
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
  private readonly segments = new Map<number, number>() // seq -> bytes, oldest first
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

  /** Writes a batch durably; false (and nothing written) when it would pass maxBytes. */
  append(items: readonly T[]): boolean {
    const body = `${items.map((item) => JSON.stringify(item)).join('\n')}\n`
    const bytes = Buffer.byteLength(body)
    if (this.size + bytes > this.maxBytes) return false
    const seq = this.nextSeq++
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
    return true
  }

  oldest(): SpoolSegment<T> | undefined {
    const first = this.segments.keys().next()
    if (first.done) return undefined
    const seq = first.value
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
