// The ClickHouse sink: batches by size and time and writes one batch at a time, in order
// (concatMap). A write that fails because of the data is split in halves until the bad rows are
// found: the good ones are stored and each bad one is dead-lettered with the store's reason. Any
// other failure (network, server) is retried with capped exponential backoff; a batch that still
// fails is dead-lettered whole. The stream never dies of one bad write and nothing is dropped
// silently. (The storage issue adds an on-disk spool, so that an outage spools instead.)
import { asyncScheduler, bufferTime, catchError, concat, concatMap, defer, EMPTY, filter, map, retry, type Observable, type ObservableInput, type OperatorFunction, type SchedulerLike, throwError, timer } from 'rxjs'
import type { DeadLetter } from './deadletter.ts'
import { isBadData } from './failures.ts'

export const STORE_BATCH_MS = 500
export const STORE_BATCH_MAX = 5_000
export const STORE_RETRIES = 4
export const STORE_RETRY_BASE_MS = 200
export const STORE_RETRY_MAX_MS = 5_000

/** Writes each batch with `write`; emits each batch once it is in the store. */
export function clickhouseSink<T>(
  table: string,
  write: (batch: T[]) => ObservableInput<unknown>,
  deadLetter: DeadLetter,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<T, T[]> {
  return (items$: Observable<T>) =>
    items$.pipe(
      bufferTime(STORE_BATCH_MS, null, STORE_BATCH_MAX, scheduler),
      filter((batch) => batch.length > 0),
      concatMap((batch) => writeBatch(batch)),
    )

  function writeBatch(batch: T[]): Observable<T[]> {
    return defer(() => write(batch)).pipe(
      retry({
        count: STORE_RETRIES,
        delay: (error: unknown, attempt) =>
          isBadData(error) ? throwError(() => error) : timer(Math.min(STORE_RETRY_MAX_MS, STORE_RETRY_BASE_MS * 2 ** (attempt - 1)), scheduler),
        resetOnSuccess: true,
      }),
      map(() => batch),
      catchError((error: unknown) => {
        if (isBadData(error) && batch.length > 1) {
          const half = Math.ceil(batch.length / 2)
          return concat(writeBatch(batch.slice(0, half)), writeBatch(batch.slice(half)))
        }
        for (const item of batch) deadLetter.record(`store:${table}`, String(error), item)
        return EMPTY
      }),
    )
  }
}
