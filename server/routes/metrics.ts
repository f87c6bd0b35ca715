// GET /api/metrics/series: the same per minute or hour of a range, each bucket a window of its own.
// GET /api/metrics: one brand's metrics over a sliding window (1m, 15m, 1h, 24h) from ClickHouse
// history, with the definitions the live pipeline uses (pipelines/metrics/definition.ts): for the
// same window the answer equals what the wall was pushed. The window ends at `to` (rounded up to a
// whole minute), by default with the newest stored minute.
import { MINUTE_MS } from '../../pipelines/time.ts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { BrandMetrics, SourceName, type TrackedBrand, WINDOW_MINUTES, WINDOW_NAMES } from '../../pipelines/schema.ts'
import type { Store } from '../../pipelines/store/store.ts'
import { Bucket, wholeBuckets } from './buckets.ts'
import { isoTime, queryTimes } from './times.ts'

const Query = Type.Object(
  {
    brand: Type.String({ minLength: 1, maxLength: 128 }),
    source: Type.Optional(SourceName),
    window: Type.Enum(WINDOW_NAMES, { default: '1h' }),
    to: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
)

const SeriesQuery = Type.Object(
  {
    brand: Type.String({ minLength: 1, maxLength: 128 }),
    source: Type.Optional(SourceName),
    from: Type.String({ format: 'date-time' }),
    to: Type.String({ format: 'date-time' }),
    bucket: Bucket,
  },
  { additionalProperties: false },
)

const ceilMinute = (ms: number) => Math.ceil(ms / MINUTE_MS) * MINUTE_MS

export const metricsRoutes: FastifyPluginAsyncTypebox<{ store: Store; tracking: readonly TrackedBrand[] }> = async (
  app,
  { store, tracking },
) => {
  const trackedBrand = (brand: string) => {
    const tracked = tracking.find((b) => b.name === brand)
    if (!tracked)
      throw Object.assign(
        new Error(`brand ${JSON.stringify(brand)} is not tracked (tracked: ${tracking.map((b) => b.name).join(', ')})`),
        { statusCode: 404 },
      )
    return tracked
  }
  app.get('/api/metrics', { schema: { querystring: Query, response: { 200: BrandMetrics } } }, async (request) => {
    const { brand, source, window, to } = queryTimes(request.query)
    const tracked = trackedBrand(brand)
    // The newest stored minute ends the default window, as the newest minute seen ends the live one.
    const newest = to
      ? Date.parse(to)
      : Date.parse((await store.latestPostTime(request.caller)) ?? new Date().toISOString()) + 1
    const end = ceilMinute(newest)
    const from = new Date(end - WINDOW_MINUTES[window] * MINUTE_MS).toISOString()
    return store.metrics(
      {
        brand,
        rivals: tracked.competitors,
        ...(source ? { source } : {}),
        window,
        from,
        to: new Date(end).toISOString(),
      },
      request.caller,
    )
  })
  app.get(
    '/api/metrics/series',
    { schema: { querystring: SeriesQuery, response: { 200: Type.Object({ series: Type.Array(BrandMetrics) }) } } },
    async (request) => {
      const { brand, source, bucket } = request.query
      const tracked = trackedBrand(brand)
      // Whole buckets: a range that starts or ends inside one is widened to take it all.
      const { from, to } = wholeBuckets(isoTime('from', request.query.from), isoTime('to', request.query.to), bucket)
      return {
        series: await store.metricSeries(
          { brand, rivals: tracked.competitors, ...(source ? { source } : {}), from, to, bucket },
          request.caller,
        ),
      }
    },
  )
}
