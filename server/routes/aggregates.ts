// GET /api/aggregates: per-brand windows of a minute or an hour from ClickHouse history.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { SourceName, WindowAggregate } from '../../pipelines/schema.ts'
import type { Store } from '../../pipelines/store/store.ts'

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
      const { brand, from, to, lastMinutes, bucket, source } = request.query
      const windows = await store.minuteAggregates({ ...(brand ? { brands: [brand] } : {}), from, to, lastMinutes, bucket, source })
      return { windows }
    },
  )
}
