// The bus sink of an ingest process: each source's events are checked (a bad one is dead-lettered
// here, with why, before it costs the bus anything), posts about no tracked brand are left out
// (a reply is kept: it may join a brand's thread, which the workers know of), and the rest are
// published to JetStream, under a subject by kind, source and brand. Each publish waits for
// JetStream's acknowledgement (the event is then on the stream's disk); one that fails is tried
// again with backoff while NATS reconnects, and dead-lettered (stage `bus`) past that, never lost
// silently. The event's id is the publish's message id: a publish tried again after a lost
// acknowledgement is dropped by JetStream as a duplicate, not stored twice.
import type { JetStreamClient } from '@nats-io/jetstream'
import { catchError, defer, EMPTY, from, ignoreElements, map, mergeMap, type Observable, retry, tap, timer } from 'rxjs'
import type { SourceEvent, TrackedBrand } from '../schema.ts'
import { eventKey } from '../bus/settlement.ts'
import { subjectOf } from '../bus/nats.ts'
import { compileTracking, matchOne } from '../transforms/match.ts'
import { normaliseDeletionOne, normaliseEngagementOne, normaliseOne } from '../transforms/normalise.ts'
import type { DeadLetter } from './deadletter.ts'

/** Publishes awaiting JetStream's acknowledgement at once, per source. */
export const PUBLISH_CONCURRENCY = 512
/** Tries of one publish (with backoff, up to about a minute in all) before it is dead-lettered. */
export const PUBLISH_TRIES = 8
const PUBLISH_RETRY_MAX_MS = 15_000
const PUBLISH_TIMEOUT_MS = 10_000

export interface BusSinkStats {
  published: number
  /** Posts about no tracked brand (and not replies): not published. */
  untracked: number
  /** Publishes that failed and were tried again. */
  retries: number
  /** Events dead-lettered: malformed, or the bus refused them past every try. */
  refused: number
}

/** The event as the workers should get it (normalised), with the brand its subject names; or why it is refused. */
export function prepare(event: SourceEvent, matchers: ReturnType<typeof compileTracking>): { ok: true; event: SourceEvent; brand?: string } | { ok: false; reason: string } | { ok: true; untracked: true } {
  if (event.kind === 'post') {
    const checked = normaliseOne(event.post)
    if (!checked.ok) return checked
    const matched = matchOne(checked.post, matchers)
    if (!matched && !checked.post.replyTo) return { ok: true, untracked: true }
    return { ok: true, event: { kind: 'post', post: checked.post }, brand: matched ? (matched.brands[0] ?? matched.ownBrand) : undefined }
  }
  if (event.kind === 'engagement') {
    const checked = normaliseEngagementOne(event.update)
    return checked.ok ? { ok: true, event: { kind: 'engagement', update: checked.update } } : checked
  }
  const checked = normaliseDeletionOne({ postId: event.postId, at: event.at })
  return checked.ok ? { ok: true, event: { kind: 'delete', ...checked.value } } : checked
}

/** Publishes one source's events; completes once the source has and every publish has settled. */
export function publishToBus(js: JetStreamClient, source: string, events$: Observable<SourceEvent>, tracking: readonly TrackedBrand[], deadLetter: DeadLetter, stats: BusSinkStats): Observable<never> {
  const matchers = compileTracking(tracking)
  const encoder = new TextEncoder()
  return events$.pipe(
    map((event) => ({ event, prepared: prepare(event, matchers) })),
    mergeMap(({ event, prepared }) => {
      if (!prepared.ok) {
        stats.refused++
        deadLetter.record('normalise', prepared.reason, event)
        return EMPTY
      }
      if ('untracked' in prepared) {
        stats.untracked++
        return EMPTY
      }
      const ready = prepared.event
      const subject = subjectOf(ready, source, prepared.brand)
      const payload = encoder.encode(JSON.stringify(ready))
      const msgID = eventKey(ready)
      return defer(() => from(js.publish(subject, payload, { timeout: PUBLISH_TIMEOUT_MS, ...(msgID ? { msgID } : {}) }))).pipe(
        retry({ count: PUBLISH_TRIES - 1, delay: (_error, n) => (stats.retries++, timer(Math.min(PUBLISH_RETRY_MAX_MS, 250 * 2 ** n))) }),
        tap(() => stats.published++),
        catchError((error: unknown) => {
          stats.refused++
          deadLetter.record('bus', `could not publish to ${subject} after ${PUBLISH_TRIES} tries: ${error instanceof Error ? error.message : String(error)}`, ready)
          return EMPTY
        }),
      )
    }, PUBLISH_CONCURRENCY),
    ignoreElements(),
  )
}
