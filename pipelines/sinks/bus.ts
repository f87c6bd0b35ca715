// The bus sink of an ingest process: each related event (stages/relate-events.ts: checked,
// matched, related; bad and untracked ones went no further) is published to JetStream, under a
// subject by kind, source and brand. Each publish waits for JetStream's acknowledgement (the event
// is then on the stream's disk); one that fails is tried again with backoff while NATS reconnects,
// and dead-lettered (stage `bus`) past that, never lost silently. The event's key is the publish's
// message id: a publish tried again after a lost acknowledgement is dropped by JetStream as a
// duplicate, not stored twice.
import type { JetStreamClient } from '@nats-io/jetstream'
import { type RelatedEvent, eventKey } from '../contract.ts'
import {
  catchError,
  defer,
  EMPTY,
  finalize,
  from,
  ignoreElements,
  mergeMap,
  type Observable,
  retry,
  tap,
  timer,
} from 'rxjs'
import { subjectOf } from '../bus/nats.ts'
import type { DeadLetter } from './deadletter.ts'

/** Publishes awaiting JetStream's acknowledgement at once, per source. */
export const PUBLISH_CONCURRENCY = 512
/** Tries of one publish (with backoff, up to about a minute in all) before it is dead-lettered. */
export const PUBLISH_TRIES = 8
const PUBLISH_RETRY_MAX_MS = 15_000
const PUBLISH_TIMEOUT_MS = 10_000

export interface BusSinkStats {
  published: number
  /** Events waiting for JetStream's acknowledgement, or for their turn to be published. */
  unpublished: number
  /** Publishes that failed and were tried again. */
  retries: number
  /** Events dead-lettered: the bus refused them past every try. */
  refused: number
}

/** The brand a post's subject names: the first it mentions, else the brand that wrote it. */
const brandOf = (event: RelatedEvent) =>
  event.kind === 'post' ? (event.post.brands[0] ?? event.post.ownBrand) : undefined

/** Publishes one source's related events; completes once they have and every publish has settled. */
export function publishToBus(
  js: JetStreamClient,
  source: string,
  events$: Observable<RelatedEvent>,
  deadLetter: DeadLetter,
  stats: BusSinkStats,
): Observable<never> {
  const encoder = new TextEncoder()
  return events$.pipe(
    tap(() => stats.unpublished++),
    mergeMap((event) => {
      const subject = subjectOf(event.kind, source, brandOf(event))
      const payload = encoder.encode(JSON.stringify(event))
      return defer(() =>
        from(js.publish(subject, payload, { timeout: PUBLISH_TIMEOUT_MS, msgID: eventKey(event) })),
      ).pipe(
        retry({
          count: PUBLISH_TRIES - 1,
          delay: (_error, n) => (stats.retries++, timer(Math.min(PUBLISH_RETRY_MAX_MS, 250 * 2 ** n))),
        }),
        tap(() => stats.published++),
        catchError((error: unknown) => {
          stats.refused++
          deadLetter.record(
            'bus',
            `could not publish to ${subject} after ${PUBLISH_TRIES} tries: ${error instanceof Error ? error.message : String(error)}`,
            event,
          )
          return EMPTY
        }),
        finalize(() => stats.unpublished--),
      )
    }, PUBLISH_CONCURRENCY),
    ignoreElements(),
  )
}
