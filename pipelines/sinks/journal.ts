// The intake journal: a write-ahead log of every event the sources send, as Kafka keeps a partition
// and Vector a disk buffer. Events are appended, one JSON line each, to segment files
// (journal-files.ts); appends that arrive together share one write and one fsync (group commit),
// and `durable()` resolves once what was appended so far is on disk: the webhook answers 202 only
// then, and a live source saves its cursor only then. The pipeline reads the journal in order
// (caught up, an event goes straight on as it is appended; behind, it is read back from disk
// later), and tells `settle` when it is done with each event it was handed (stored, spooled,
// dropped or dead-lettered). A segment is deleted once it is read to its end and every event it
// handed out is settled; what is left at a crash is read again at the next start, before anything
// new, and the store drops what it holds already.
import { mkdirSync } from 'node:fs'
import type { SourceEvent } from '../schema.ts'
import { GroupCommit, type Part, unwrittenLines } from './journal-commit.ts'
import { parsedOrText, type Segment, scanSegments, SegmentFile } from './journal-files.ts'

export type { Segment }

/** A segment is closed (and a new one begun) past this many bytes... */
export const SEGMENT_BYTES = 8 * 1024 * 1024
/** ...or this long after its first event: a trickle's segments are deleted soon, not kept for hours. */
export const SEGMENT_MS = 5_000
/** Bytes appended and not yet written past which appends are refused (a stalled disk must not fill memory). */
export const MAX_UNWRITTEN_BYTES = 64 * 1024 * 1024
/** Bytes read from disk at a time when the reader is behind (grown for a longer line). */
const READ_BYTES = 1024 * 1024

export type Appended = { ok: true } | { ok: false; reason: string }

export interface JournalOptions {
  segmentBytes?: number
  segmentMs?: number
  maxUnwrittenBytes?: number
}

/** Told of what cannot be read back: a line that does not parse, or events a failed write lost. */
export type OnLost = (reason: string, payload: unknown) => void

/** The pipeline's side: takes an event as it is appended, or refuses it (it is read back later). */
export type Reader = (event: SourceEvent, segment: Segment) => boolean

export class Journal {
  private readonly segments: Segment[] = []
  private nextSeq = 1
  /** Bytes of the segment files on disk (or about to be). */
  private size = 0
  /** Failed writes and refused appends so far: a cursor saved across one may pass a lost event. */
  private failureCount = 0
  /**
   * Where the reader is: the next byte to read, in `at`'s segment; with none, at the start of the
   * first segment numbered above `passed` (its own segment was deleted once read and settled).
   */
  private at: { segment: Segment | undefined; offset: number } = { segment: undefined, offset: 0 }
  private passed = 0
  private readonly commit = new GroupCommit<Segment>({
    written: (segments) => {
      for (const segment of segments) this.release(segment)
      this.onWritten?.()
    },
    failed: async (lost, error) => {
      this.failureCount++
      await this.lose(lost, error)
    },
  })
  private closed = false
  private readonly options: Required<JournalOptions>
  /** The pipeline, while it reads. */
  reader: Reader | undefined
  /** Told after each write: what was appended may be read back now. */
  onWritten: (() => void) | undefined
  onLost: OnLost = () => {}
  /**
   * Waited for before a released segment's file is deleted: the dead-letter record's flush, so an
   * event refused on the way is on disk there before it leaves here (a crash replays it instead).
   * When it rejects (the record is not on disk), the file stays and is deleted on a later try.
   */
  beforeDelete: () => Promise<void> | undefined = () => undefined

  constructor(
    readonly dir: string,
    /** Bound on the journal's size on disk; an append that would pass it is refused. */
    readonly maxBytes: number,
    options: JournalOptions = {},
  ) {
    this.options = {
      segmentBytes: SEGMENT_BYTES,
      segmentMs: SEGMENT_MS,
      maxUnwrittenBytes: MAX_UNWRITTEN_BYTES,
      ...options,
    }
    mkdirSync(dir, { recursive: true })
    const found = scanSegments(dir)
    for (const { seq, bytes } of found) {
      this.segments.push({
        seq,
        file: new SegmentFile(dir, seq),
        bytes,
        written: bytes,
        sealed: true,
        unsettled: 0,
        old: true,
        since: 0,
        released: false,
      })
      this.size += bytes
    }
    this.nextSeq = (found.at(-1)?.seq ?? 0) + 1
    // The reader starts at the oldest: what the last run left is read before anything new.
    this.at = { segment: this.segments[0], offset: 0 }
  }

  /** Segment files tracked (not yet released). */
  pending(): number {
    return this.segments.length
  }

  bytes(): number {
    return this.size
  }

  /** Failed writes and refused appends so far (JournaledCursorFile saves no cursor across one). */
  failures(): number {
    return this.failureCount
  }

  /** Whether an append of `bytes` would be taken now (live sources pause while it would not). */
  hasRoom(bytes = 0): boolean {
    return (
      !this.closed &&
      this.size + bytes <= this.maxBytes &&
      this.commit.unwritten + bytes <= this.options.maxUnwrittenBytes
    )
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
    return (
      !last ||
      (this.at.segment === last && this.at.offset === last.bytes) ||
      (!this.at.segment && last.seq <= this.passed)
    )
  }

  /** Whether the reader is past every byte of `segment`. */
  private behindReader(segment: Segment): boolean {
    return this.at.segment ? segment.seq < this.at.segment.seq : segment.seq <= this.passed
  }

  /**
   * Appends events (handing each straight to the reader when it is caught up and takes it);
   * durable once `durable()` resolves. Refused, with nothing appended, past maxBytes, past the
   * unwritten bound or once closed.
   */
  append(events: readonly SourceEvent[]): Appended {
    if (this.closed) return this.refuse('the intake journal is closed (Undertow is stopping)')
    let lines: string[]
    try {
      lines = events.map((event) => `${JSON.stringify(event)}\n`)
    } catch (error) {
      return { ok: false, reason: `the event cannot be written as JSON (${String(error)})` }
    }
    const lengths = lines.map((line) => Buffer.byteLength(line))
    const bytes = lengths.reduce((n, length) => n + length, 0)
    if (this.size + bytes > this.maxBytes)
      return this.refuse(`the intake journal is full (${this.maxBytes} bytes, SPOOL_MAX_BYTES)`)
    if (this.commit.unwritten + bytes > this.options.maxUnwrittenBytes)
      return this.refuse(
        `the intake journal's disk is behind (${Math.round(this.commit.unwritten / 2 ** 20)} MiB wait to be written)`,
      )
    lines.forEach((line, i) => {
      const caught = this.caughtUp()
      const segment = this.active()
      const length = lengths[i]!
      this.commit.push(segment, line, length)
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
    return { ok: true }
  }

  /** Resolves once every event appended so far is on disk; rejects when its write failed. */
  durable(): Promise<void> {
    return this.commit.durable()
  }

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
        segment.file.closeReader()
        this.at = { segment: next, offset: 0 }
        this.release(segment)
        continue
      }
      const available = segment.written - offset
      if (available <= 0) break
      const got = segment.file.readLines(offset, chunk, available, max - out.length)
      for (const { text, at } of got.lines) {
        try {
          out.push({ event: JSON.parse(text) as SourceEvent, segment })
          segment.unsettled++
        } catch (error) {
          this.onLost(`intake journal segment ${segment.seq}, byte ${at}: ${String(error)}`, text)
        }
      }
      if (got.unended !== undefined) {
        // The last bytes of a segment a crash cut short, without their newline: a write never
        // acknowledged (its fsync had not returned). Reported, and passed over.
        if (!segment.old) break
        this.onLost(
          `intake journal segment ${segment.seq}: a write cut short by a crash (never acknowledged)`,
          got.unended,
        )
        this.at = { segment, offset: offset + available }
        continue
      }
      // No whole line: one longer than the read, read again further (what was read is carried over).
      if (got.next === offset) chunk *= 2
      this.at = { segment, offset: got.next }
    }
    return out
  }

  /** The pipeline is done with one event this segment handed out. */
  settle(segment: Segment): void {
    if (segment.unsettled <= 0)
      throw new Error(`intake journal segment ${segment.seq}: settled more often than it handed events out`)
    segment.unsettled--
    this.release(segment)
  }

  /** Closes a segment that has been open long enough, so that it can be deleted once settled. */
  tick(now = Date.now()): void {
    const last = this.segments.at(-1)
    if (last && !last.sealed && now - last.since >= this.options.segmentMs) this.seal(last)
  }

  /** Writes what is queued and closes the files; later appends are refused. */
  async close(): Promise<void> {
    this.closed = true
    await this.commit.idle()
    for (const segment of [...this.segments]) {
      await segment.file.close()
      if (!segment.sealed) this.seal(segment)
    }
  }

  private refuse(reason: string): Appended {
    this.failureCount++
    return { ok: false, reason }
  }

  private active(): Segment {
    const last = this.segments.at(-1)
    if (last && !last.sealed && last.bytes < this.options.segmentBytes) return last
    if (last && !last.sealed) this.seal(last)
    const seq = this.nextSeq++
    const segment: Segment = {
      seq,
      file: new SegmentFile(this.dir, seq),
      bytes: 0,
      written: 0,
      sealed: false,
      unsettled: 0,
      old: false,
      since: Date.now(),
      released: false,
    }
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

  /** Lets a segment go once nothing in it can be needed again; a second call does nothing. */
  private release(segment: Segment): void {
    if (segment.released) return
    const readToEnd = this.behindReader(segment) || (this.at.segment === segment && this.at.offset === segment.bytes)
    if (
      !segment.sealed ||
      segment.unsettled > 0 ||
      !readToEnd ||
      segment.written < segment.bytes ||
      this.commit.holds(segment)
    )
      return
    const index = this.segments.indexOf(segment)
    if (index < 0) throw new Error(`intake journal segment ${segment.seq}: released, yet not in the journal's list`)
    segment.released = true
    if (this.at.segment === segment) {
      this.passed = segment.seq
      this.at = { segment: undefined, offset: 0 }
    }
    this.segments.splice(index, 1)
    segment.file.removeOnceRecorded(this.beforeDelete, () => (this.size -= segment.bytes))
  }

  /**
   * Lines that were not written: their segments take no more and end at their last good write.
   * What the reader had of them goes on in memory; what it had not is reported lost (with why).
   */
  private async lose(parts: Part<Segment>[], error: unknown): Promise<void> {
    for (const segment of new Set(parts.map((p) => p.segment))) {
      const readerAt = this.at.segment === segment ? this.at.offset : this.behindReader(segment) ? segment.bytes : 0
      for (const { line, at } of unwrittenLines(parts, segment))
        if (at >= readerAt)
          this.onLost(`intake journal segment ${segment.seq}: not written (${String(error)})`, parsedOrText(line))
      segment.sealed = true
      this.size -= segment.bytes - segment.written
      segment.bytes = segment.written
      if (this.at.segment === segment && this.at.offset > segment.bytes) this.at = { segment, offset: segment.bytes }
      await segment.file.truncate(segment.written)
    }
  }
}
