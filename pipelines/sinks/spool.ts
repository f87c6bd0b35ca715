// The sink's on-disk spool: batches that could not reach the store wait here, one file a batch,
// until the store is back. Files are named by the batch's number (reserved when the batch arrived,
// and growing across restarts), and drain lowest first: in arrival order, even when an older batch
// reaches the spool after newer ones. A file is written to a temporary name, fsynced, renamed and
// the folder fsynced, so a crash (or a power cut) leaves whole batches or none; the spool survives
// restarts and drains before new writes.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { replaceDurably } from './durable-file.ts'

export interface SpoolSegment<T> {
  seq: number
  items: T[]
  /** Lines that did not parse (a file damaged outside Undertow): their text, and why. */
  damaged: { line: number; text: string; reason: string }[]
}

export type Appended = { ok: true; seq: number } | { ok: false; reason: string }

const SEGMENT = /^(\d{12})\.ndjson$/

export class Spool<T> {
  private readonly bytesOf = new Map<number, number>()
  /** The numbers of the files held, lowest first. */
  private readonly order: number[] = []
  private nextSeq = 1
  private size = 0

  constructor(
    readonly dir: string,
    /** Bound on the spool's size on disk; a batch that would pass it is refused. */
    readonly maxBytes: number,
    /** How bytes reach a file (writeSync); for tests of a disk that takes less than asked. */
    private readonly write?: Parameters<typeof replaceDurably>[2],
  ) {
    mkdirSync(dir, { recursive: true })
    for (const name of readdirSync(dir)) {
      const match = SEGMENT.exec(name)
      // A .tmp file is a batch whose spooling a crash interrupted: it was never accepted.
      if (!match) {
        if (name.endsWith('.tmp')) rmSync(join(dir, name), { force: true })
        continue
      }
      this.track(Number(match[1]), statSync(join(dir, name)).size)
    }
    this.nextSeq = (this.order.at(-1) ?? 0) + 1
  }

  /** Batches waiting. */
  pending(): number {
    return this.order.length
  }

  bytes(): number {
    return this.size
  }

  /** A number for a batch, above every number the spool holds or has given. */
  reserve(): number {
    return this.nextSeq++
  }

  /**
   * Writes a batch durably under its number (a new one if not given). Refused, with nothing
   * written, when it would pass maxBytes or the disk will not take it.
   */
  append(items: readonly T[], seq = this.reserve()): Appended {
    let body: string
    try {
      body = `${items.map((item) => JSON.stringify(item)).join('\n')}\n`
    } catch (error) {
      return { ok: false, reason: `the batch cannot be written as JSON (${String(error)})` }
    }
    const bytes = Buffer.byteLength(body)
    if (this.size + bytes > this.maxBytes) return { ok: false, reason: `the spool is full (${this.maxBytes} bytes)` }
    if (this.bytesOf.has(seq)) return { ok: false, reason: `spool batch ${seq} exists` }
    try {
      this.writeDurably(seq, body)
    } catch (error) {
      return { ok: false, reason: `the spool cannot be written (${String(error)})` }
    }
    this.track(seq, bytes)
    return { ok: true, seq }
  }

  /** The number of the oldest batch waiting. */
  oldestSeq(): number | undefined {
    return this.order[0]
  }

  /**
   * The oldest batches below `below`, in order, as many as fit in `maxItems` (at least one if
   * any). A file that cannot be read is set aside (renamed `.unreadable`) and comes back as a
   * segment with no items and the reason, so it is reported once and never blocks the spool.
   */
  oldest(maxItems: number, below = Number.POSITIVE_INFINITY): SpoolSegment<T>[] {
    const segments: SpoolSegment<T>[] = []
    let items = 0
    for (const seq of [...this.order]) {
      if (seq >= below) break
      if (segments.length > 0 && items >= maxItems) break
      const segment = this.read(seq)
      if (segments.length > 0 && items + segment.items.length > maxItems) break
      segments.push(segment)
      items += segment.items.length
    }
    return segments
  }

  /**
   * Replaces a batch's content with what is left of it after part was stored or refused. Never
   * throws: if the disk will not take it, the old content stays whole (a later drain writes it
   * again, and the store skips what it holds) and the answer is false.
   */
  replace(seq: number, items: readonly T[]): boolean {
    if (!this.bytesOf.has(seq)) return true
    if (items.length === 0) {
      this.remove(seq)
      return true
    }
    try {
      const body = `${items.map((item) => JSON.stringify(item)).join('\n')}\n`
      this.writeDurably(seq, body)
      this.size += Buffer.byteLength(body) - this.bytesOf.get(seq)!
      this.bytesOf.set(seq, Buffer.byteLength(body))
      return true
    } catch {
      return false
    }
  }

  /** Forgets a batch and deletes its file; never throws (a file left behind drains again). */
  remove(seq: number): void {
    const bytes = this.bytesOf.get(seq)
    if (bytes === undefined) return
    this.bytesOf.delete(seq)
    this.order.splice(this.order.indexOf(seq), 1)
    this.size -= bytes
    try {
      rmSync(join(this.dir, name(seq)), { force: true })
    } catch {
      // left for the next start, whose drain finds its posts stored already
    }
  }

  private read(seq: number): SpoolSegment<T> {
    const items: T[] = []
    const damaged: SpoolSegment<T>['damaged'] = []
    let content: string
    try {
      content = readFileSync(join(this.dir, name(seq)), 'utf8')
    } catch (error) {
      try {
        renameSync(join(this.dir, name(seq)), join(this.dir, `${name(seq)}.unreadable`))
      } catch {
        // gone already
      }
      this.remove(seq)
      return {
        seq,
        items,
        damaged: [{ line: 0, text: '', reason: `unreadable, set aside as ${name(seq)}.unreadable: ${String(error)}` }],
      }
    }
    content.split('\n').forEach((text, i) => {
      if (text === '') return
      try {
        items.push(JSON.parse(text) as T)
      } catch (error) {
        damaged.push({ line: i + 1, text, reason: String(error) })
      }
    })
    return { seq, items, damaged }
  }

  private track(seq: number, bytes: number): void {
    this.bytesOf.set(seq, bytes)
    this.size += bytes
    // Numbers arrive mostly in order: insert from the end.
    let i = this.order.length
    while (i > 0 && this.order[i - 1]! > seq) i--
    this.order.splice(i, 0, seq)
  }

  private writeDurably(seq: number, body: string): void {
    replaceDurably(join(this.dir, name(seq)), body, this.write)
  }
}

function name(seq: number): string {
  return `${String(seq).padStart(12, '0')}.ndjson`
}
