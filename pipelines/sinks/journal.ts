// The intake journal: a write-ahead log of every event the sources send, as Kafka keeps a partition
// and Vector a disk buffer. Events are appended, one JSON line each, to segment files; appends that
// arrive together share one write and one fsync (group commit), and `durable()` resolves once what
// was appended so far is on disk: the webhook answers 202 only then, and a live source saves its
// cursor only then. The pipeline reads the journal in order (caught up, an event goes straight on
// as it is appended; behind, it is read back from disk later), and tells `settle` when it is done
// with each event it was handed (stored, spooled, dropped or dead-lettered). A segment is deleted
// once it is read to its end and every event it handed out is settled; what is left at a crash is
// read again at the next start, before anything new, and the store drops what it holds already.
import { closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { join } from 'node:path'
import type { SourceEvent } from '../schema.ts'

/** A segment is closed (and a new one begun) past this many bytes... */
export const SEGMENT_BYTES = 8 * 1024 * 1024
/** ...or this long after its first event: a trickle's segments are deleted soon, not kept for hours. */
export const SEGMENT_MS = 5_000
/** Bytes read from disk at a time when the reader is behind (grown for a longer line). */
const READ_BYTES = 1024 * 1024

const SEGMENT_FILE = /^(\d{12})\.ndjson$/

export type Appended = { ok: true } | { ok: false; reason: string }

export interface Segment {
  readonly seq: number
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
  file?: Promise<FileHandle>
  readFd?: number
}

/** Told of what cannot be read back: a line that does not parse, or events a failed write lost. */
export type OnLost = (reason: string, payload: unknown) => void

/** The pipeline's side: takes an event as it is appended, or refuses it (it is read back later). */
export type Reader = (event: SourceEvent, segment: Segment) => boolean

export class Journal {
  private readonly segments: Segment[] = []
  private nextSeq = 1
  private size = 0
  /**
   * Where the reader is: the next byte to read, in `at`'s segment; with none, at the start of the
   * first segment numbered above `passed` (its own segment was deleted once read and settled).
   */
  private at: { segment: Segment | undefined; offset: number } = { segment: undefined, offset: 0 }
  private passed = 0
  /** Lines appended and not yet written, in order, with the group that will make them durable. */
  private queue: { segment: Segment; lines: string[]; bytes: number }[] = []
  private group = deferred()
  private writing: Promise<void> | undefined
  private closed = false
  /** The pipeline, while it reads. */
  reader: Reader | undefined
  /** Told after each write: what was appended may be read back now. */
  onWritten: (() => void) | undefined
  onLost: OnLost = () => {}
  /**
   * Waited for before a settled segment's file is deleted: the dead-letter record's flush, so an
   * event refused on the way is on disk there before it leaves here (a crash replays it instead).
   */
  beforeDelete: () => Promise<void> | undefined = () => undefined

  constructor(
    readonly dir: string,
    /** Bound on the journal's size on disk; an append that would pass it is refused. */
    readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true })
    const seqs: number[] = []
    for (const name of readdirSync(dir)) {
      const match = SEGMENT_FILE.exec(name)
      // A .tmp file is a batch the old intake spool was writing when a crash came: never accepted.
      if (!match) {
        if (name.endsWith('.tmp')) rmSync(join(dir, name), { force: true })
        continue
      }
      seqs.push(Number(match[1]))
    }
    for (const seq of seqs.sort((a, b) => a - b)) {
      const bytes = statSync(this.path(seq)).size
      // Created, and nothing written before a crash: nothing in it was acknowledged.
      if (bytes === 0) rmSync(this.path(seq), { force: true })
      else this.segments.push({ seq, bytes, written: bytes, sealed: true, unsettled: 0, old: true, since: 0 })
      this.size += bytes
    }
    this.nextSeq = (seqs.at(-1) ?? 0) + 1
    // The reader starts at the oldest: what the last run left is read before anything new.
    this.at = { segment: this.segments[0], offset: 0 }
  }

  /** Segment files on disk. */
  pending(): number {
    return this.segments.length
  }

  bytes(): number {
    return this.size
  }

  /** Segments with events not yet read by the pipeline, and their bytes not read yet: what waits. */
  waiting(): { segments: number; bytes: number } {
    let segments = 0
    let bytes = 0
    for (const segment of this.segments) {
      if (this.behindReader(segment)) continue
      const unread = segment.bytes - (segment === this.at.segment ? this.at.offset : 0)
      if (unread > 0) segments++
      bytes += unread
    }
    return { segments, bytes }
  }

  /** Whether the reader has had every event appended so far. */
  caughtUp(): boolean {
    const last = this.segments.at(-1)
    return !last || (this.at.segment === last && this.at.offset === last.bytes) || (!this.at.segment && last.seq <= this.passed)
  }

  /** Whether the reader is past every byte of `segment`. */
  private behindReader(segment: Segment): boolean {
    return this.at.segment ? segment.seq < this.at.segment.seq : segment.seq <= this.passed
  }

  /**
   * Appends events (handing each straight to the reader when it is caught up and takes it);
   * durable once `durable()` resolves. Refused, with nothing appended, past maxBytes or once closed.
   */
  append(events: readonly SourceEvent[]): Appended {
    if (this.closed) return { ok: false, reason: 'the intake journal is closed (Undertow is stopping)' }
    let lines: string[]
    try {
      lines = events.map((event) => `${JSON.stringify(event)}\n`)
    } catch (error) {
      return { ok: false, reason: `the event cannot be written as JSON (${String(error)})` }
    }
    const bytes = lines.reduce((n, line) => n + Buffer.byteLength(line), 0)
    if (this.size + bytes > this.maxBytes) return { ok: false, reason: `the intake journal is full (${this.maxBytes} bytes, SPOOL_MAX_BYTES)` }
    lines.forEach((line, i) => {
      const caught = this.caughtUp()
      const segment = this.active()
      const length = Buffer.byteLength(line)
      const last = this.queue.at(-1)
      if (last?.segment === segment) {
        last.lines.push(line)
        last.bytes += length
      } else this.queue.push({ segment, lines: [line], bytes: length })
      const start = segment.bytes
      segment.bytes += length
      this.size += length
      if (!caught) return
      // Counted and passed before the reader runs: the pipeline may settle it at once.
      segment.unsettled++
      this.at = { segment, offset: segment.bytes }
      if (this.reader?.(events[i]!, segment)) return
      segment.unsettled--
      this.at = { segment, offset: start }
    })
    this.writing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.writeQueued())
    return { ok: true }
  }

  /** Resolves once every event appended so far is on disk; rejects when its write failed. */
  durable(): Promise<void> {
    if (this.queue.length > 0) return this.group.promise
    return this.writing && this.lastGroup ? this.lastGroup : Promise.resolve()
  }

  private lastGroup: Promise<void> | undefined

  /**
   * Up to `max` events from disk at the reader's place, in order (only what is written). Each is
   * handed out: the caller settles it once the pipeline is done with it.
   */
  read(max: number): { event: SourceEvent; segment: Segment }[] {
    const out: { event: SourceEvent; segment: Segment }[] = []
    let chunk = READ_BYTES
    while (out.length < max) {
      const segment = this.at.segment ?? this.segments.find((s) => s.seq > this.passed)
      if (!segment) break
      if (!this.at.segment) this.at = { segment, offset: 0 }
      const { offset } = this.at
      if (offset >= segment.bytes && segment.sealed && segment.written === segment.bytes) {
        const next = this.segments[this.segments.indexOf(segment) + 1]
        if (!next) break
        this.closeReader(segment)
        this.at = { segment: next, offset: 0 }
        this.release(segment)
        continue
      }
      const available = segment.written - offset
      if (available <= 0) break
      segment.readFd ??= openSync(this.path(segment.seq), 'r')
      const buffer = Buffer.alloc(Math.min(chunk, available))
      const got = readSync(segment.readFd, buffer, 0, buffer.length, offset)
      const text = buffer.subarray(0, got)
      let start = 0
      for (let nl = text.indexOf(10); nl !== -1 && out.length < max; nl = text.indexOf(10, start)) {
        const line = text.subarray(start, nl).toString('utf8')
        start = nl + 1
        if (line.trim() === '') continue
        try {
          out.push({ event: JSON.parse(line) as SourceEvent, segment })
          segment.unsettled++
        } catch (error) {
          this.onLost(`intake journal segment ${segment.seq}, byte ${offset + start - line.length - 1}: ${String(error)}`, line)
        }
      }
      if (start === 0 && got === available) {
        // The last bytes of a segment a crash cut short, without their newline: a write never
        // acknowledged (its fsync had not returned). Reported, and passed over.
        if (!segment.old) break
        this.onLost(`intake journal segment ${segment.seq}: a write cut short by a crash (never acknowledged)`, text.toString('utf8'))
        this.at = { segment, offset: offset + got }
        continue
      }
      if (start === 0) chunk *= 2
      this.at = { segment, offset: offset + start }
    }
    return out
  }

  /** The pipeline is done with one event this segment handed out. */
  settle(segment: Segment): void {
    segment.unsettled--
    this.release(segment)
  }

  /** Closes a segment that has been open long enough, so that it can be deleted once settled. */
  tick(now = Date.now()): void {
    const last = this.segments.at(-1)
    if (last && !last.sealed && now - last.since >= SEGMENT_MS) this.seal(last)
  }

  /** Writes what is queued and closes the files; later appends are refused. */
  async close(): Promise<void> {
    this.closed = true
    while (this.writing) await this.writing
    for (const segment of [...this.segments]) {
      this.closeReader(segment)
      await (await segment.file?.catch(() => undefined))?.close().catch(() => {})
      segment.file = undefined
      if (!segment.sealed) this.seal(segment)
    }
  }

  private active(): Segment {
    const last = this.segments.at(-1)
    if (last && !last.sealed && last.bytes < SEGMENT_BYTES) return last
    if (last && !last.sealed) this.seal(last)
    const segment: Segment = { seq: this.nextSeq++, bytes: 0, written: 0, sealed: false, unsettled: 0, old: false, since: Date.now() }
    this.segments.push(segment)
    if (this.at.segment === last && last && this.at.offset === last.bytes) {
      this.at = { segment, offset: 0 }
      this.release(last)
    }
    return segment
  }

  private seal(segment: Segment): void {
    segment.sealed = true
    this.release(segment)
  }

  /** Deletes a segment once nothing in it can be needed again. */
  private release(segment: Segment): void {
    const readToEnd = this.behindReader(segment) || (this.at.segment === segment && this.at.offset === segment.bytes)
    if (!segment.sealed || segment.unsettled > 0 || !readToEnd || segment.written < segment.bytes || this.queue.some((q) => q.segment === segment)) return
    if (this.at.segment === segment) {
      this.passed = segment.seq
      this.at = { segment: undefined, offset: 0 }
    }
    this.segments.splice(this.segments.indexOf(segment), 1)
    this.size -= segment.bytes
    this.closeReader(segment)
    void segment.file?.then((f) => f.close()).catch(() => {})
    const path = this.path(segment.seq)
    const remove = () => {
      try {
        rmSync(path, { force: true })
      } catch {
        // left for the next start, which reads it again: the store drops what it holds
      }
    }
    const recorded = this.beforeDelete()
    if (recorded) void recorded.then(remove, remove)
    else remove()
  }

  private closeReader(segment: Segment): void {
    if (segment.readFd === undefined) return
    closeSync(segment.readFd)
    segment.readFd = undefined
  }

  /** Group commit: everything queued goes in one write per segment and one fsync; then the next group. */
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
            const created = part.segment.file === undefined
            part.segment.file ??= open(this.path(part.segment.seq), 'a')
            const file = await part.segment.file
            await writeAll(file, Buffer.from(part.lines.join('')))
            await file.datasync()
            // A new file's name is durable once its folder is synced.
            if (created) await syncFolder(this.dir)
            part.segment.written += part.bytes
            done++
          }
          group.resolve()
        } catch (error) {
          // The disk is full or failing: what is not written yet, this group's and the next's, is
          // given up (both groups fail: no sender is told it is on disk).
          const next = this.group
          const lost = [...parts.slice(done), ...this.queue]
          this.queue = []
          this.group = deferred()
          await this.lose(lost, error)
          const failure = error instanceof Error ? error : new Error(String(error))
          group.reject(failure)
          next.reject(failure)
        }
        for (const part of parts) this.release(part.segment)
        this.onWritten?.()
      }
    } finally {
      this.writing = undefined
    }
  }

  /**
   * Lines that were not written: their segments take no more and end at their last good write.
   * What the reader had of them goes on in memory; what it had not is reported lost (with why).
   */
  private async lose(parts: { segment: Segment; lines: string[] }[], error: unknown): Promise<void> {
    for (const segment of new Set(parts.map((p) => p.segment))) {
      const readerAt = this.at.segment === segment ? this.at.offset : this.behindReader(segment) ? segment.bytes : 0
      let at = segment.written
      for (const part of parts)
        if (part.segment === segment)
          for (const line of part.lines) {
            if (at >= readerAt) this.onLost(`intake journal segment ${segment.seq}: not written (${String(error)})`, safeParse(line))
            at += Buffer.byteLength(line)
          }
      segment.sealed = true
      this.size -= segment.bytes - segment.written
      segment.bytes = segment.written
      if (this.at.segment === segment && this.at.offset > segment.bytes) this.at = { segment, offset: segment.bytes }
      await (await segment.file?.catch(() => undefined))?.truncate(segment.written).catch(() => {})
    }
  }

  private path(seq: number): string {
    return join(this.dir, `${String(seq).padStart(12, '0')}.ndjson`)
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
  try {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // only power-cut durability is weaker
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

function safeParse(line: string): unknown {
  try {
    return JSON.parse(line)
  } catch {
    return line
  }
}
