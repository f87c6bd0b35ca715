// Writing one batch: retries with capped exponential backoff for transient failures, and on bad
// data a split in halves until the bad rows are found and refused. Used by the ClickHouse sink for
// new batches and for batches drained from its spool.
import {
  catchError,
  concat,
  defer,
  endWith,
  from,
  ignoreElements,
  map,
  type Observable,
  type ObservableInput,
  of,
  reduce,
  retry,
  type SchedulerLike,
  throwError,
  timer,
} from 'rxjs'
import { isBadData } from './failures.ts'

/** What became of a batch's items while it was being written, so a retry redoes only the rest. */
export interface BatchProgress<T> {
  written: T[]
  refused: Set<T>
}

export function batchWriter<T>(
  write: (batch: T[], checked: boolean) => ObservableInput<unknown>,
  refuse: (item: T, reason: string) => void,
  backoff: { baseMs: number; maxMs: number },
  scheduler: SchedulerLike,
) {
  /** `attempt` with capped exponential backoff on failures other than bad data. */
  function withRetries<R>(attempt: () => ObservableInput<R>, retries: number): Observable<R> {
    return defer(attempt).pipe(
      retry({
        count: retries,
        delay: (error: unknown, n) =>
          isBadData(error)
            ? throwError(() => error)
            : timer(Math.min(backoff.maxMs, backoff.baseMs * 2 ** (n - 1)), scheduler),
        resetOnSuccess: true,
      }),
    )
  }

  /**
   * Writes a batch, splitting it on bad data until the bad rows are found and refused; records in
   * `progress` what was written and refused. Fails only when the store stays unreachable.
   */
  function writeBatch(batch: T[], retries: number, checked: boolean, progress: BatchProgress<T>): Observable<void> {
    let attempts = 0
    // Done when `write` completes, whatever it emits (exactly once).
    const attempt = () => from(write(batch, checked && attempts++ === 0)).pipe(ignoreElements(), endWith(undefined))
    return withRetries(attempt, retries).pipe(
      map(() => {
        progress.written.push(...batch)
      }),
      catchError((error: unknown) => {
        if (!isBadData(error)) return throwError(() => error)
        if (batch.length === 1) {
          progress.refused.add(batch[0]!)
          refuse(batch[0]!, String(error))
          return of(undefined)
        }
        const half = Math.ceil(batch.length / 2)
        // The halves are checked again: the failed attempt may have stored some of them.
        return concat(
          writeBatch(batch.slice(0, half), retries, false, progress),
          writeBatch(batch.slice(half), retries, false, progress),
        ).pipe(reduce(() => undefined, undefined))
      }),
    )
  }

  return { withRetries, writeBatch }
}
