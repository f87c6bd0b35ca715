// GET /api/aggregates: per-brand windows of a minute or an hour from ClickHouse history, at most
// MAX_AGGREGATE_BUCKETS per brand: by default the newest ones, and a wider range is refused.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { SourceName, WindowAggregate } from '../../pipelines/schema.ts'
import type { AggregateQuery, Store } from '../../pipelines/store/store.ts'
import { badRequest } from '../errors.ts'
import { bucketMs } from './buckets.ts'
import { queryTimes } from './times.ts'

/** Windows per brand one answer holds at most: a day of minutes, or 60 days of hours. */
export const MAX_AGGREGATE_BUCKETS = 1_440

const tooWide = (asked: number, bucket: 'minute' | 'hour') =>
  badRequest(
    `${Math.ceil(asked).toLocaleString('en')} ${bucket}s asked for; at most ${MAX_AGGREGATE_BUCKETS.toLocaleString('en')} per brand (a day of minutes, or 60 days of hours): use bucket=hour, or a shorter range`,
  )

/**
 * The range asked for, bounded: lastMinutes, or from and to, within MAX_AGGREGATE_BUCKETS; an open
 * end is set that far from the other; nothing given means the newest MAX_AGGREGATE_BUCKETS.
 */
export function boundedRange(
  query: { from?: string; to?: string; lastMinutes?: number },
  bucket: 'minute' | 'hour',
): Pick<AggregateQuery, 'from' | 'to' | 'lastMinutes'> {
  const span = bucketMs(bucket)
  const widest = MAX_AGGREGATE_BUCKETS * span
  const { from, to, lastMinutes } = query
  if (lastMinutes !== undefined) {
    if ((lastMinutes * 60_000) / span > MAX_AGGREGATE_BUCKETS) throw tooWide((lastMinutes * 60_000) / span, bucket)
    return { from, to, lastMinutes }
  }
  if (from && to) {
    const asked = (Math.ceil(Date.parse(to) / span) * span - Math.floor(Date.parse(from) / span) * span) / span
    if (asked > MAX_AGGREGATE_BUCKETS) throw tooWide(asked, bucket)
    return { from, to }
  }
  if (from) return { from, to: new Date(Date.parse(from) + widest).toISOString() }
  if (to) return { from: new Date(Date.parse(to) - widest).toISOString(), to }
  return { lastMinutes: widest / 60_000 }
}

const Query = Type.Object(
  {
    brand: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    lastMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 24 * 60 })),
    bucket: Type.Enum(['minute', 'hour'], { default: 'minute' }),
    /** Only posts from this source. */
    source: Type.Optional(SourceName),
  },
  { additionalProperties: false },
)

export const aggregateRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/api/aggregates',
    { schema: { querystring: Query, response: { 200: Type.Object({ windows: Type.Array(WindowAggregate) }) } } },
    async (request) => {
      const { brand, bucket, source, ...range } = queryTimes(request.query)
      const windows = await store.minuteAggregates(
        { ...(brand ? { brands: [brand] } : {}), ...boundedRange(range, bucket), bucket, source },
        request.caller,
      )
      return { windows }
    },
  )
}
