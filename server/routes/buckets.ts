// Series per minute or hour (GET /api/metrics/series, GET /api/posts/series): how many buckets a
// range asks for, and the one answer when that is too many.
import Type from 'typebox'
import { badRequest } from '../errors.ts'

export const Bucket = Type.Enum(['minute', 'hour'], { default: 'minute' })
export type Bucket = 'minute' | 'hour'

/** A series asks for at most this many buckets: a week of minutes, or a year of hours. */
export const MAX_SERIES_BUCKETS = 7 * 24 * 60

export const bucketMs = (bucket: Bucket) => (bucket === 'hour' ? 3_600_000 : 60_000)

export const tooManyBuckets = (asked: number | string) =>
  badRequest(`${asked} buckets asked for; at most ${MAX_SERIES_BUCKETS} (use bucket=hour, or a shorter range)`)

/** The range widened to whole buckets (a bucket it starts or ends in is taken whole); a 400 unless from < to and it holds at most MAX_SERIES_BUCKETS. */
export function wholeBuckets(from: string, to: string, bucket: Bucket): { from: string; to: string } {
  if (!(Date.parse(from) < Date.parse(to))) throw badRequest(`from (${from}) must be before to (${to})`)
  const span = bucketMs(bucket)
  const start = Math.floor(Date.parse(from) / span) * span
  const end = Math.ceil(Date.parse(to) / span) * span
  if ((end - start) / span > MAX_SERIES_BUCKETS) throw tooManyBuckets((end - start) / span)
  return { from: new Date(start).toISOString(), to: new Date(end).toISOString() }
}
