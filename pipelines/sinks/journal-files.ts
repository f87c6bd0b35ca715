// The intake journal's segment files (journal.ts keeps the bookkeeping): one JSON line per event,
// named by sequence number. Here is all that touches the disk: finding what a last run left,
// appending with datasync (and, for a new file, the folder's sync: its name is durable only then),
// reading back, cutting a failed write off, deleting.
import { closeSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { join } from 'node:path'

const SEGMENT_FILE = /^(\d{12})\.ndjson$/
/** A segment whose dead-letter records could not be written yet is deleted on a later try. */
const DELETE_RETRY_MS = 1_000
/** Most bytes one write call takes: a large group is written in slices, never joined whole in memory. */
export const WRITE_SLICE_BYTES = 4 * 1024 * 1024

export const segmentPath = (dir: string, seq: number) => join(dir, `${String(seq).padStart(12, '0')}.ndjson`)

/**
 * The segments a last run left, oldest first, with their sizes. Empty files (created, nothing
 * written before a crash: nothing in them was acknowledged) and `.tmp` files (a batch the old
 * intake spool was writing) are deleted.
 */
export function scanSegments(dir: string): { seq: number; bytes: number }[] {
  const found: { seq: number; bytes: number }[] = []
  for (const name of readdirSync(dir)) {
    const match = SEGMENT_FILE.exec(name)
    if (!match) {
      if (name.endsWith('.tmp')) rmSync(join(dir, name), { force: true })
      continue
    }
    const seq = Number(match[1])
    const bytes = statSync(segmentPath(dir, seq)).size
    if (bytes === 0) rmSync(segmentPath(dir, seq), { force: true })
    else found.push({ seq, bytes })
  }
  return found.sort((a, b) => a.seq - b.seq)
}

/** One segment of the journal: its file, and the journal's bookkeeping of it. */
export interface Segment {
  readonly seq: number
  readonly file: SegmentFile
  /** Bytes appended (some perhaps still on their way to the file), and bytes written to it. */
  bytes: number
  written: number
  /** No more appends: full, old, left by the last run, or its write failed. */
  sealed: boolean
  /** Handed to the pipeline and not settled yet. */
  unsettled: number
  /** From the last run: read from disk only (a torn last line is a write a crash cut short). */
  readonly old: boolean
  readonly since: number
  /** Out of the journal's list: nothing in it is needed again (its file goes once records allow). */
  released: boolean
}

/** One segment's file: appended to by the journal's group commit, read back by its reader. */
export class SegmentFile {
  private handle: Promise<FileHandle> | undefined
  private readFd: number | undefined
  /** Bytes read past the last whole line taken, kept for the next read at that place (no re-read). */
  private carried: { offset: number; bytes: Buffer } | undefined

  constructor(
    readonly dir: string,
    readonly seq: number,
  ) {}

  get path(): string {
    return segmentPath(this.dir, this.seq)
  }

  /** Appends `lines`; resolves once they are on disk (datasync) and, for a new file, so is its name. */
  async append(lines: readonly string[]): Promise<void> {
    const created = this.handle === undefined
    this.handle ??= open(this.path, 'a')
    const file = await this.handle
    for (let i = 0; i < lines.length; ) {
      const slice: string[] = []
      let bytes = 0
      while (i < lines.length && (slice.length === 0 || bytes + lines[i]!.length <= WRITE_SLICE_BYTES)) {
        bytes += lines[i]!.length
        slice.push(lines[i++]!)
      }
      await writeAll(file, Buffer.from(slice.join('')))
    }
    await file.datasync()
    if (created) await syncFolder(this.dir)
  }

  /** Cuts the file back to `bytes` (what a failed write left past its last good one). */
  async truncate(bytes: number): Promise<void> {
    await (await this.handle?.catch(() => undefined))?.truncate(bytes).catch(() => {})
  }

  /**
   * Bytes from `offset`: what was carried over from the last read there, then up to `want` in all
   * from the file (`available` at most).
   */
  private read(offset: number, want: number, available: number): Buffer {
    const head = this.carried?.offset === offset ? this.carried.bytes : undefined
    this.carried = undefined
    const length = Math.min(want, available) - (head?.length ?? 0)
    if (length <= 0) return head ?? Buffer.alloc(0)
    this.readFd ??= openSync(this.path, 'r')
    // Unzeroed: only the bytes the read filled are used.
    const buffer = Buffer.allocUnsafe(length)
    const got = readSync(this.readFd, buffer, 0, length, offset + (head?.length ?? 0))
    return head ? Buffer.concat([head, buffer.subarray(0, got)]) : buffer.subarray(0, got)
  }

  /** Keeps the bytes a read did not use (a line cut by the read's end) for the next read at `offset`. */
  private carry(offset: number, bytes: Buffer): void {
    this.carried = bytes.length > 0 ? { offset, bytes: Buffer.from(bytes) } : undefined
  }

  /**
   * Whole lines from `offset` (up to `max` that are not blank), each with its byte offset, and where
   * the next read starts. `unended`: every byte there is, and no newline in them.
   */
  readLines(
    offset: number,
    want: number,
    available: number,
    max: number,
  ): { lines: { text: string; at: number }[]; next: number; unended?: string } {
    const bytes = this.read(offset, want, available)
    const lines: { text: string; at: number }[] = []
    let start = 0
    for (let nl = bytes.indexOf(10); nl !== -1 && lines.length < max; nl = bytes.indexOf(10, start)) {
      const text = bytes.subarray(start, nl).toString('utf8')
      if (text.trim() !== '') lines.push({ text, at: offset + start })
      start = nl + 1
    }
    if (start === 0 && bytes.length === available) return { lines, next: offset, unended: bytes.toString('utf8') }
    this.carry(offset + start, bytes.subarray(start))
    return { lines, next: offset + start }
  }

  /** Closes the reader's side (the segment is read to its end). */
  closeReader(): void {
    this.carried = undefined
    if (this.readFd === undefined) return
    closeSync(this.readFd)
    this.readFd = undefined
  }

  async close(): Promise<void> {
    this.closeReader()
    const handle = this.handle
    this.handle = undefined
    await (await handle?.catch(() => undefined))?.close().catch(() => {})
  }

  /**
   * Deletes the file once `recorded()` (the dead-letter records' flush) has settled; while it
   * rejects (they are not on disk), the file stays and is tried again later. A file the system will
   * not delete is left for the next start, which reads it again (the store drops what it holds).
   */
  removeOnceRecorded(recorded: () => Promise<void> | undefined, removed: () => void): void {
    const remove = () => {
      removed()
      try {
        rmSync(this.path, { force: true })
      } catch {
        // read again at the next start
      }
    }
    void this.close()
    const flushed = recorded()
    if (!flushed) return remove()
    flushed.then(remove, () => setTimeout(() => this.removeOnceRecorded(recorded, removed), DELETE_RETRY_MS).unref())
  }
}

/** Writes all of `data`: a write may take less than asked (a nearly full disk). */
async function writeAll(file: FileHandle, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; ) {
    const { bytesWritten } = await file.write(data, at, data.length - at)
    if (!(bytesWritten > 0)) throw new Error(`short write: ${at} of ${data.length} bytes written`)
    at += bytesWritten
  }
}

/** As well as the system allows (some refuse fsync on folders): the file itself is written either way. */
async function syncFolder(dir: string): Promise<void> {
  let handle: FileHandle | undefined
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // only power-cut durability is weaker
  } finally {
    await handle?.close().catch(() => {})
  }
}

/** A line as JSON where it is, else as text (for the dead-letter record). */
export function parsedOrText(line: string): unknown {
  try {
    return JSON.parse(line)
  } catch {
    return line
  }
}
