// The ClickHouse sink: batches by size and time, and runs one job at a time per table (concatMap),
// so writes land in order and never overlap.
//
// - A batch is written with retries (capped exponential backoff) for transient failures.
// - A write that fails because of the data is split in halves until the bad rows are found: the
//   good ones are stored, each bad one is dead-lettered with the store's reason.
// - When the store stays unreachable, the batch goes to the on-disk spool instead, and so does
//   every batch after it while the spool holds anything, so that order is kept. The spool drains,
//   oldest first, one batch per job between new batches, with backoff while the store is down.
// - Bounded memory: when the store is slow rather than down, at most MAX_QUEUED_BATCHES batches wait
//   in memory; newer ones wait in the spool, and the older ones in memory still go first.
// - Without a spool (or when it is full) a batch that keeps failing is dead-lettered item by item.
// - Duplicates: the sink remembers the keys it accepted lately, and asks the store (`unstored`)
//   which of a batch it does not hold yet, before the first attempt; a replayed item is neither
//   stored, spooled nor counted live twice. Writes are idempotent too (Store.insertPosts skips ids
//   it holds), so a retry after an attempt that failed after landing stores nothing twice, and the
//   items still count live: the first question's answer decides what is new, not the retry's.
// The sink emits what it accepted, stored or spooled: the pipeline and the wall go on in an outage.
import { asyncScheduler, bufferTime, catchError, concat, concatMap, defer, EMPTY, filter, finalize, map, merge, type Observable, type ObservableInput, of, type OperatorFunction, reduce, ReplaySubject, retry, type SchedulerLike, Subject, switchMap, throwError, timer } from 'rxjs'
import type { DeadLetter } from './deadletter.ts'
import { isBadData } from './failures.ts'
import type { Spool } from './spool.ts'

export const STORE_BATCH_MS = 500
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
  /** Told of each failed attempt to drain the spool (the store is still down). */
  onDrainError?: (error: unknown) => void
  scheduler?: SchedulerLike
}

/**
 * Writes each batch with `write`, which must be idempotent; `checked` tells it the batch was just
 * checked with `unstored` (and it is the first attempt), so it may skip its own check. Emits each
 * accepted batch.
 */
export function clickhouseSink<T>(table: string, write: (batch: T[], checked: boolean) => ObservableInput<unknown>, options: SinkOptions<T>): OperatorFunction<T, T[]> {
  const { deadLetter, spool, key, unstored, onDuplicate, onDrainError, scheduler = asyncScheduler } = options
  const stage = `store:${table}`
  const recent = new RecentKeys(RECENT_KEYS)

  return (items$: Observable<T>) =>
    defer(() => {
      // Batches are numbered in arrival order by the spool (above every file it holds, so above
      // batches left by a crash too), and the spool drains lowest first. `inMemory` holds the
      // numbers of the batches waiting in memory, oldest first: the spool is drained only down to
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
      let draining = false
      let inputDone = false
      let lastDrainFailed = false
      let drainDelay = 0
      /** Schedules a drain or completes, whichever the state calls for. */
      const settle = () => {
        if (drains.closed || draining) return
        const waiting = (spool?.pending() ?? 0) > 0
        if (inputDone && inMemory.length === 0 && (!waiting || lastDrainFailed)) {
          drains.complete()
        } else if (waiting && !(inputDone && lastDrainFailed)) {
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
            if (spool && inMemory.length >= MAX_QUEUED_BATCHES) {
              // The store is behind: this batch waits on disk, not in memory.
              spilled.next(toSpool(fresh(batch), 'the store is behind', seq))
              settle()
              return () => of([])
            }
            inMemory.push(seq)
            return () =>
              accept(batch, seq).pipe(
                finalize(() => {
                  inMemory.splice(inMemory.indexOf(seq), 1)
                  settle()
                }),
              )
          }),
          finalize(() => {
            inputDone = true
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
      return merge(jobs$.pipe(concatMap((job) => job())), spilled).pipe(filter((batch) => batch.length > 0))

      function fresh(batch: T[]): T[] {
        return key ? batch.filter(isNew) : batch
      }

      function accept(batch: T[], seq: number): Observable<T[]> {
        const items = fresh(batch)
        if (items.length === 0) return of([])
        if (olderSpooled(seq)) return of(toSpool(items, 'older batches wait in the spool', seq))
        const unheld$ = unstored ? withRetries(() => unstored(items), STORE_RETRIES) : of(items)
        return unheld$.pipe(
          concatMap((unheld) => (unheld.length === 0 ? of([]) : writeBatch(unheld, STORE_RETRIES, unstored !== undefined))),
          catchError((error: unknown) => of(toSpool(items, String(error), seq))),
        )
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

      /** Spools a batch the store could not take now; returns what was accepted. */
      function toSpool(batch: T[], why: string, seq: number): T[] {
        if (batch.length === 0) return batch
        if (spool?.append(batch, seq) !== undefined) return batch
        const reason = spool ? `the store is unreachable (${why}) and the spool is full (${spool.maxBytes} bytes)` : why
        for (const item of batch) deadLetter.record(stage, reason, item)
        return []
      }

      function drainOne(): Observable<T[]> {
        const oldest = spool?.oldestSeq()
        // Nothing to drain, or older batches wait in memory: they go first, then settle() again.
        if (!spool || oldest === undefined || (inMemory.length > 0 && oldest > inMemory[0]!)) return drained(false)
        const segment = spool.oldest()!
        for (const d of segment.damaged) deadLetter.record(stage, `spool segment ${segment.seq} line ${d.line}: ${d.reason}`, null)
        return writeBatch(segment.items, 0, false).pipe(
          concatMap(() => {
            spool.remove(segment.seq)
            drainDelay = 0
            return drained(false)
          }),
          catchError((error: unknown) => {
            onDrainError?.(error)
            drainDelay = Math.min(STORE_RETRY_MAX_MS, Math.max(STORE_RETRY_BASE_MS, drainDelay * 2))
            return drained(true)
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

  /** `attempt` with capped exponential backoff on failures other than bad data. */
  function withRetries<R>(attempt: () => ObservableInput<R>, retries: number): Observable<R> {
    return defer(attempt).pipe(
      retry({
        count: retries,
        delay: (error: unknown, n) => (isBadData(error) ? throwError(() => error) : timer(Math.min(STORE_RETRY_MAX_MS, STORE_RETRY_BASE_MS * 2 ** (n - 1)), scheduler)),
        resetOnSuccess: true,
      }),
    )
  }

  /** Emits the items written (all but the bad ones), once; fails only when the store stays unreachable. */
  function writeBatch(batch: T[], retries: number, checked: boolean): Observable<T[]> {
    let attempts = 0
    return withRetries(() => write(batch, checked && attempts++ === 0), retries).pipe(
      map(() => batch),
      catchError((error: unknown) => {
        if (!isBadData(error)) return throwError(() => error)
        if (batch.length === 1) {
          deadLetter.record(stage, String(error), batch[0])
          return of([])
        }
        const half = Math.ceil(batch.length / 2)
        // The halves are checked again: the failed attempt may have stored some of them.
        return concat(writeBatch(batch.slice(0, half), retries, false), writeBatch(batch.slice(half), retries, false)).pipe(reduce((all, part) => all.concat(part), [] as T[]))
      }),
    )
  }
}

/** The last `capacity` keys added, forgetting the oldest first. */
class RecentKeys {
  private readonly keys = new Set<string>()
  constructor(private readonly capacity: number) {}

  has(key: string): boolean {
    return this.keys.has(key)
  }

  add(key: string): void {
    this.keys.add(key)
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value!)
  }
}
