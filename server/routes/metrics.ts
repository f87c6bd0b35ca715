// GET /api/metrics: one brand's metrics over a sliding window (1m, 15m, 1h, 24h) from ClickHouse
// history, with the definitions the live pipeline uses (pipelines/metrics/definition.ts): for the
// same window the answer equals what the wall was pushed. The window ends at `to` (rounded up to a
// whole minute), by default with the newest stored minute.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { BrandMetrics, SourceName, type TrackedBrand, WINDOW_MINUTES, WINDOW_NAMES } from '../../pipelines/schema.ts'
import type { Store } from '../../pipelines/store/store.ts'

const Query = Type.Object(
  {
    brand: Type.String({ minLength: 1, maxLength: 128 }),
    source: Type.Optional(SourceName),
    window: Type.Enum(WINDOW_NAMES, { default: '1h' }),
    to: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
)

const MINUTE = 60_000
const ceilMinute = (ms: number) => Math.ceil(ms / MINUTE) * MINUTE

export const metricsRoutes: FastifyPluginAsyncTypebox<{ store: Store; tracking: readonly TrackedBrand[] }> = async (app, { store, tracking }) => {
  app.get(
    '/api/metrics',
    { schema: { querystring: Query, response: { 200: BrandMetrics } } },
    async (request) => {
      const { brand, source, window, to } = request.query
      const tracked = tracking.find((b) => b.name === brand)
      if (!tracked) throw Object.assign(new Error(`brand ${JSON.stringify(brand)} is not tracked (tracked: ${tracking.map((b) => b.name).join(', ')})`), { statusCode: 404 })
      // The newest stored minute ends the default window, as the newest minute seen ends the live one.
      const newest = to ? Date.parse(to) : Date.parse((await store.latestPostTime()) ?? new Date().toISOString()) + 1
      const end = ceilMinute(newest)
      const from = new Date(end - WINDOW_MINUTES[window] * MINUTE).toISOString()
      return store.metrics({ brand, rivals: tracked.competitors, ...(source ? { source } : {}), window, from, to: new Date(end).toISOString() })
    },
  )
}
