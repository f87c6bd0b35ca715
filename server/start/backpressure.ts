// When the webhook refuses new requests (503) because Undertow is behind: before the disk where
// events wait for the classifier fills up (a sender can send again later, while a live stream's
// events would have to be dead-lettered), or, with a bus, before the events waiting for it to take
// them grow past a bound (NATS is down).
import type { Journal } from '../../pipelines/sinks/journal.ts'
import { refuseAbove } from '../routes/ingest.ts'

/** Events waiting for the bus past which the webhook refuses new requests. */
export const UNPUBLISHED_MAX = 20_000

/** Why the webhook should refuse a request now, or undefined while it may take it. */
export function busyOf(intake: Journal | undefined, unpublished: () => number): () => string | undefined {
  const busyAbove = intake ? refuseAbove(intake.maxBytes) : Number.POSITIVE_INFINITY
  return () =>
    intake && intake.bytes() > busyAbove
      ? `Undertow is behind: ${Math.round(intake.bytes() / 2 ** 20)} MiB of events wait for the classifier`
      : unpublished() > UNPUBLISHED_MAX
        ? `Undertow is behind: ${unpublished()} events wait for the bus to take them`
        : undefined
}
