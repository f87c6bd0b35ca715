// Puts the workers' records back in the order the events arrived. Every event on the bus has its
// place in the events stream (its sequence number), and every one is settled by some worker with
// exactly one record, so the records can be released strictly in that order: the live figures see
// the events as one process would have. A record that comes twice (a worker died after publishing
// it, and another settled the event again) is released once.
//
// Two cases are not in order by nature. At start, the first place is not known: the records of
// the first moments are gathered, and the lowest starts the order. And a place whose record never
// comes (an event JetStream gave up on after its deliveries) would stop the figures: past `gapMs`
// it is passed over, and released late, out of order, if its record comes after all.

/** Stretches of places passed over remembered (a record for one of them is then released late), and late places released. */
const REMEMBERED = 10_000

export interface ResequenceCounts {
  released: number
  /** Records released out of order: from before the start, or for a place passed over. */
  late: number
  /** Records that came again, for a place already released: dropped. */
  duplicates: number
  /** Places passed over because their record did not come within the gap's wait. */
  skipped: number
}

export class Resequencer<T> {
  private next: number | undefined
  private firstAt = 0
  private startedAt = 0
  private gapSince = 0
  private readonly waiting = new Map<number, T>()
  /** Stretches of places passed over, [first, last], oldest first. */
  private readonly skipped: [number, number][] = []
  private readonly lateReleased = new Set<number>()
  /** Places ahead whose records will not come (given at `begin`): passed in their turn. */
  private readonly passed = new Set<number>()
  /** Started at a known place (`begin`): what came before it is held elsewhere (the store), and a record for it is dropped. */
  private begun = false
  readonly counts: ResequenceCounts

  constructor(
    private readonly release: (item: T, seq: number) => void,
    private readonly drop: (item: T, seq: number) => void,
    private readonly options: { startMs: number; gapMs: number; counts?: ResequenceCounts },
  ) {
    this.counts = options.counts ?? { released: 0, late: 0, duplicates: 0, skipped: 0 }
  }

  /** Records waiting for the ones before them. */
  get size(): number {
    return this.waiting.size
  }

  add(seq: number, item: T, now = Date.now()): void {
    if (this.next === undefined) {
      if (this.waiting.size === 0) this.firstAt = now
      if (this.waiting.has(seq)) return this.duplicate(item, seq)
      this.waiting.set(seq, item)
      return
    }
    if (seq < this.next) {
      // Before the start, or passed over: its first record is released now, out of order.
      if (((seq < this.startedAt && !this.begun) || this.wasSkipped(seq)) && !this.lateReleased.has(seq)) {
        this.lateReleased.add(seq)
        if (this.lateReleased.size > REMEMBERED) this.lateReleased.delete(this.lateReleased.values().next().value!)
        this.counts.late++
        this.counts.released++
        this.release(item, seq)
      } else this.duplicate(item, seq)
      return
    }
    if (this.waiting.has(seq) || this.passed.has(seq)) return this.duplicate(item, seq)
    // The head of the line is blocked from now (after a quiet spell, not since the last release).
    if (this.waiting.size === 0 && seq !== this.next) this.gapSince = now
    this.waiting.set(seq, item)
    this.drain(now)
  }

  /** Starts the order at a known place (the first moments need not be gathered), passing over `passed` in their turn. */
  begin(seq: number, passed: readonly number[] = [], now = Date.now()): void {
    if (this.next !== undefined) return
    for (const p of passed) if (p > seq) this.passed.add(p)
    this.begun = true
    this.next = this.startedAt = seq
    this.gapSince = now
    this.drain(now)
  }

  /** Starts the order once the first moments are gathered, and passes over a place whose record is overdue. */
  tick(now = Date.now()): void {
    if (this.next === undefined) {
      if (this.waiting.size === 0 || now - this.firstAt < this.options.startMs) return
      this.next = this.startedAt = this.lowestWaiting()
      this.gapSince = now
      this.drain(now)
      return
    }
    if (this.waiting.size === 0 || this.waiting.has(this.next) || now - this.gapSince < this.options.gapMs) return
    const lowest = this.lowestWaiting()
    this.skipped.push([this.next, lowest - 1])
    if (this.skipped.length > REMEMBERED) this.skipped.shift()
    this.counts.skipped += lowest - this.next
    this.next = lowest
    this.drain(now)
  }

  private drain(now: number): void {
    let moved = false
    for (;;) {
      if (this.passed.delete(this.next!)) {
        this.next!++
        moved = true
        continue
      }
      if (!this.waiting.has(this.next!)) break
      const seq = this.next!
      const item = this.waiting.get(seq)!
      this.waiting.delete(seq)
      this.next = seq + 1
      this.counts.released++
      this.release(item, seq)
      moved = true
    }
    if (moved) this.gapSince = now
  }

  /** The lowest place waiting (a loop: a spread of a large map overflows the stack). */
  private lowestWaiting(): number {
    let lowest = Number.POSITIVE_INFINITY
    for (const seq of this.waiting.keys()) if (seq < lowest) lowest = seq
    return lowest
  }

  private wasSkipped(seq: number): boolean {
    return this.skipped.some(([first, last]) => seq >= first && seq <= last)
  }

  private duplicate(item: T, seq: number): void {
    this.counts.duplicates++
    this.drop(item, seq)
  }
}
