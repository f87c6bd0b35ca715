// The ClickHouse sink: batches by size and time, writes one batch at a time in order (concatMap),
// retries a failed write with capped exponential backoff, and dead-letters a batch that still
// fails, so the stream never dies of one bad write and nothing is dropped silently. The storage
// issue adds transient/permanent triage and an on-disk spool for outages.
import { asyncScheduler, bufferTime, catchError, concatMap, defer, EMPTY, filter, map, retry, timer, type Observable, type ObservableInput, type OperatorFunction, type SchedulerLike } from 'rxjs'
import type { DeadLetter } from './deadletter.ts'

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
      concatMap((batch) =>
        defer(() => write(batch)).pipe(
          retry({
            count: STORE_RETRIES,
            delay: (_error, attempt) => timer(Math.min(STORE_RETRY_MAX_MS, STORE_RETRY_BASE_MS * 2 ** (attempt - 1)), scheduler),
            resetOnSuccess: true,
          }),
          map(() => batch),
          catchError((error: unknown) => {
            for (const item of batch) deadLetter.record(`store:${table}`, String(error), item)
            return EMPTY
          }),
        ),
      ),
    )
}
