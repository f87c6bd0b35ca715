// The ClickHouse sink: batches by size and time, and runs one job at a time per table (concatMap),
// so writes land in order and never overlap.
//
// - A batch is written with retries (capped exponential backoff) for transient failures.
// - A write that fails because of the data is split in halves until the bad rows are found: the
//   good ones are stored, each bad one is dead-lettered with the store's reason.
// - When the store stays unreachable, the batch goes to the on-disk spool instead, and so does
//   every batch after it while the spool holds anything, so that order is kept. The spool drains,
//   oldest first, several batches per insert between new batches, with backoff while the store is
//   down; after the input ends, it goes on draining for `drainAfterInputMs` at most.
// - Bounded memory: when the store is slow rather than down, at most MAX_QUEUED_BATCHES batches wait
//   in memory; newer ones wait in the spool, and the older ones in memory still go first.
// - Without a spool (or when it is full) a batch that keeps failing is given back to whoever holds
//   it (`giveBack`: the bus, the intake journal), else dead-lettered item by item.
// - Duplicates: the sink remembers the keys it accepted lately, and asks the store (`unstored`)
//   which of a batch it does not hold yet, before the first attempt; a replayed item is neither
//   stored nor counted live twice. Writes are idempotent too (Store.insertPosts skips ids it holds),
//   so a retry after an attempt that failed after landing stores nothing twice, and the items still
//   count live: the first question's answer decides what is new, not the retry's. (A batch that
//   goes to the spool without the question, in an outage or behind older spooled batches, counts
//   live as it is: a replay arriving just then is stored once but may count live twice.)
// The sink emits what it accepted, stored or spooled: the pipeline and the wall go on in an outage.
import {
  asyncScheduler,
  bufferTime,
  catchError,
  concatMap,
  defer,
  filter,
  finalize,
  from,
  last,
  map,
  merge,
  type Observable,
  type ObservableInput,
  of,
  type OperatorFunction,
  ReplaySubject,
  type SchedulerLike,
  Subject,
  switchMap,
  timer,
} from 'rxjs'
import { type DeadLetter, flushed$ } from './deadletter.ts'
import { batchWriter, type BatchProgress } from './batch-write.ts'
import { RecentKeys } from './recent-keys.ts'
import type { Spool, SpoolSegment } from './spool.ts'

export const STORE_BATCH_MS = 250
export const STORE_BATCH_MAX = 5_000
// Few direct retries: with a spool, a batch that fails twice is safer on disk than in memory, and
// the stream must not stall for long behind it (the spool drains with backoff of its own).
export const STORE_RETRIES = 2
export const STORE_RETRY_BASE_MS = 200
export const STORE_RETRY_MAX_MS = 5_000
/** Keys of accepted items remembered for duplicate detection before the store is asked. */
export const RECENT_KEYS = 200_000
/** Batches that may wait in memory for the store; past that, new ones wait in the spool. */
export const MAX_QUEUED_BATCHES = 4

export interface SinkOptions<T> {
  deadLetter: DeadLetter
  /** Where batches wait while the store is unreachable; without one they are dead-lettered. */
  spool?: Spool<T>
  /** Of a batch, the items the store does not hold yet (default: all). */
  unstored?: (batch: T[]) => ObservableInput<T[]>
  /** Identity of an item, for duplicate detection (default: none). */
  key?: (item: T) => string
  /** Told of each item dropped as a duplicate of one accepted lately. */
  onDuplicate?: (item: T) => void
  /** After the input ends, how long the spool goes on draining before the sink completes. */
  drainAfterInputMs?: number
  /**
   * What the store could not take now (unreachable, past the retries) and no spool holds (none, or
   * full) is handed back here, to be tried again later by whoever holds it (a bus redelivers it,
   * the intake journal hands it on again), instead of being dead-lettered.
   */
  giveBack?: (items: T[], reason: string) => void
  /** Told of each failed attempt to drain the spool (the store is still down). */
  onDrainError?: (error: unknown) => void
  scheduler?: SchedulerLike
}

/**
 * Writes each batch with `write`, which must be idempotent; `checked` tells it the batch was just
 * checked with `unstored` (and it is the first attempt), so it may skip its own check. Emits each
 * accepted batch.
 */
export function clickhouseSink<T>(
  table: string,
  write: (batch: T[], checked: boolean) => ObservableInput<unknown>,
  options: SinkOptions<T>,
): OperatorFunction<T, T[]> {
  const {
    deadLetter,
    spool,
    key,
    unstored,
    onDuplicate,
    onDrainError,
    giveBack,
    drainAfterInputMs = Number.POSITIVE_INFINITY,
    scheduler = asyncScheduler,
  } = options
  const stage = `store:${table}`
  const recent = new RecentKeys(RECENT_KEYS)

  /** Dead-letters an item; its key is forgotten, so the item can be sent again, corrected. */
  const refuse = (item: T, reason: string) => {
    deadLetter.record(stage, reason, item)
    if (key) recent.delete(key(item))
  }
  const { withRetries, writeBatch } = batchWriter(
    write,
    refuse,
    { baseMs: STORE_RETRY_BASE_MS, maxMs: STORE_RETRY_MAX_MS },
    scheduler,
  )

  return (items$: Observable<T>) =>
    defer(() => {
      // Batches are numbered in arrival order by the spool (above every file it holds, so above
      // batches left by a crash too), and the spool drains lowest first. `inMemory` holds the
      // numbers of the batches waiting in memory, oldest first: the spool is drained only below
      // the oldest of them, so a batch that waited in memory while newer ones were spilled to disk
      // still reaches the store before them.
      let batchSeq = 0
      const inMemory: number[] = []
      const spilled = new Subject<T[]>()
      const olderSpooled = (seq: number) => {
        const oldest = spool?.oldestSeq()
        return oldest !== undefined && oldest < seq
      }

      // At most one drain is scheduled or running at a time (`draining`). When the input completes
      // the sink goes on draining while the store takes the batches, and stops at the first
      // failure: what is left stays on disk for the next start. `drains` replays the last request:
      // the first may come before the jobs below are subscribed.
      const drains = new ReplaySubject<number>(1)
      let completed = false
      let draining = false
      let inputDone = false
      let inputDoneAt = 0
      let lastDrainFailed = false
      let drainDelay = 0
      /** Schedules a drain or completes, whichever the state calls for. */
      const settle = () => {
        if (completed || draining) return
        const waiting = (spool?.pending() ?? 0) > 0
        const stopDraining = inputDone && (lastDrainFailed || scheduler.now() - inputDoneAt >= drainAfterInputMs)
        if (inputDone && inMemory.length === 0 && (!waiting || stopDraining)) {
          completed = true
          drains.complete()
        } else if (waiting && !stopDraining) {
          draining = true
          drains.next(lastDrainFailed ? drainDelay : 0)
        }
      }

      const batches$ = items$.pipe(
        bufferTime(STORE_BATCH_MS, null, STORE_BATCH_MAX, scheduler),
        filter((batch) => batch.length > 0),
      )
      const jobs$ = merge(
        batches$.pipe(
          map((batch) => {
            const seq = spool ? spool.reserve() : ++batchSeq
            let items: T[] | undefined
            if (spool && inMemory.length >= MAX_QUEUED_BATCHES) {
              // The store is behind: this batch waits on disk, not in memory (unless the disk
              // will not take it: then in memory after all).
              items = fresh(batch)
              const appended = items.length > 0 ? spool.append(items, seq) : undefined
              if (!appended || appended.ok) {
                spilled.next(items)
                settle()
                return () => of([])
              }
            }
            inMemory.push(seq)
            return () =>
              accept(items ?? fresh(batch), seq).pipe(
                finalize(() => {
                  inMemory.splice(inMemory.indexOf(seq), 1)
                  settle()
                }),
              )
          }),
          finalize(() => {
            inputDone = true
            inputDoneAt = scheduler.now()
            spilled.complete()
            settle()
          }),
        ),
        drains.pipe(
          switchMap((delay) => timer(delay, scheduler)),
          map(() => () => drainOne()),
        ),
      )
      settle()
      // `spilled` first: a source that emits synchronously spills before anything else subscribes.
      return merge(spilled, jobs$.pipe(concatMap((job) => job()))).pipe(filter((batch) => batch.length > 0))

      function fresh(batch: T[]): T[] {
        return key ? batch.filter(isNew) : batch
      }

      function isNew(item: T): boolean {
        const k = key!(item)
        if (recent.has(k)) {
          onDuplicate?.(item)
          return false
        }
        recent.add(k)
        return true
      }

      /** Writes (or spools) a batch's new items, filtered by `fresh` already. */
      function accept(items: T[], seq: number): Observable<T[]> {
        if (items.length === 0) return of([])
        // Once the input has ended (shutting down), a batch still in memory goes to disk at once:
        // a slow store must not hold it past the process's deadline.
        // (A spool that will not take it: written directly, out of order rather than lost.)
        if (spool && (inputDone || olderSpooled(seq)) && toSpool(items, seq).ok) return of(items)
        let unheld = items
        const progress: BatchProgress<T> = { written: [], refused: new Set() }
        // Exactly one answer: none is an error (retried, then spooled), more are ignored.
        const unheld$ = unstored ? withRetries(() => from(unstored(items)).pipe(last()), STORE_RETRIES) : of(items)
        return unheld$.pipe(
          concatMap((answer) => {
            unheld = answer
            // What the store holds already (stored before a restart, or by another worker) is a duplicate too.
            if (onDuplicate && answer.length < items.length) {
              const kept = new Set(answer)
              for (const item of items) if (!kept.has(item)) onDuplicate(item)
            }
            return unheld.length === 0 ? of([]) : writeBatch(unheld, STORE_RETRIES, unstored !== undefined, progress)
          }),
          map(() => progress.written),
          catchError((error: unknown) => {
            // What is neither stored nor refused goes to the spool, or is refused with the reason.
            const written = new Set(progress.written)
            const rest = unheld.filter((item) => !progress.refused.has(item) && !written.has(item))
            const spooled = toSpool(rest, seq)
            if (spooled.ok) return of([...progress.written, ...rest])
            // The store is down and the spool cannot hold them (none, or full): not their data's fault.
            if (giveBack && rest.length > 0) {
              // Handed back: forgotten here, so that they are new when they come again.
              if (key) for (const item of rest) recent.delete(key(item))
              giveBack(rest, String(error))
              return of(progress.written)
            }
            for (const item of rest)
              refuse(item, spool ? `the store is unreachable (${String(error)}) and ${spooled.reason}` : String(error))
            return of(progress.written)
          }),
        )
      }

      /** Spools items the store cannot take now, or says why the spool will not. */
      function toSpool(items: T[], seq: number): { ok: true } | { ok: false; reason: string } {
        if (items.length === 0) return { ok: true }
        if (!spool) return { ok: false, reason: 'there is no spool' }
        return spool.append(items, seq)
      }

      function drainOne(): Observable<T[]> {
        try {
          return drainSegments()
        } catch (error) {
          // The spool's own disk failed (it never throws on purpose): report it, try again later.
          onDrainError?.(error)
          return drained(true)
        }
      }

      function drainSegments(): Observable<T[]> {
        // Only batches older than any still in memory: those go first.
        const found = spool ? spool.oldest(STORE_BATCH_MAX, inMemory[0]) : []
        const damaged = found.filter((segment) => segment.damaged.length > 0)
        // Refused once, with the line itself; the file keeps what did parse (or goes), once the
        // record is on disk: a crash in between must not lose both.
        for (const segment of damaged)
          for (const d of segment.damaged)
            deadLetter.record(stage, `spool batch ${segment.seq} line ${d.line}: ${d.reason}`, d.text)
        // A record the disk will not take keeps the files as they are, for a later drain.
        const recorded$ =
          damaged.length > 0
            ? flushed$(deadLetter).pipe(
                map(() => damaged.forEach((segment) => spool!.replace(segment.seq, segment.items))),
              )
            : of(undefined)
        return recorded$.pipe(
          concatMap(() => writeSegments(found.filter((segment) => segment.items.length > 0))),
          catchError((error: unknown) => (onDrainError?.(error), drained(true))),
        )
      }

      function writeSegments(segments: SpoolSegment<T>[]): Observable<T[]> {
        if (!spool || segments.length === 0) {
          draining = false
          settle()
          return of([])
        }
        const items = segments.flatMap((s) => s.items)
        const progress: BatchProgress<T> = { written: [], refused: new Set() }
        return writeBatch(items, 0, false, progress).pipe(
          // What the store refused is dead-lettered: its files go once those records are on disk.
          concatMap(() => (progress.refused.size > 0 ? flushed$(deadLetter) : of(undefined))),
          concatMap(() => {
            for (const segment of segments) spool.remove(segment.seq)
            drainDelay = 0
            return drained(false)
          }),
          catchError((error: unknown) => {
            onDrainError?.(error)
            // Each file keeps what is left of it, so it is neither stored nor refused twice. A file
            // the disk will not rewrite keeps all it held: stored again later (the store skips what
            // it holds), never removed with items in it that are neither stored nor refused.
            drainDelay = Math.min(STORE_RETRY_MAX_MS, Math.max(STORE_RETRY_BASE_MS, drainDelay * 2))
            if (progress.written.length === 0 && progress.refused.size === 0) return drained(true)
            const done = new Set(progress.written)
            // As above: the refused leave their files once their records are on disk.
            return (progress.refused.size > 0 ? flushed$(deadLetter) : of(undefined)).pipe(
              concatMap(() => {
                for (const segment of segments)
                  spool.replace(
                    segment.seq,
                    segment.items.filter((item) => !done.has(item) && !progress.refused.has(item)),
                  )
                return drained(true)
              }),
              // The records are not on disk: the files keep everything (stored again, refused again).
              catchError(() => drained(true)),
            )
          }),
        )
      }

      /** Items leave the spool already accepted (and emitted) when they entered it: emits nothing. */
      function drained(failed: boolean): Observable<T[]> {
        draining = false
        lastDrainFailed = failed
        settle()
        return of([])
      }
    })
}
