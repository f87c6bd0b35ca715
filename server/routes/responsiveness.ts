// GET /api/response-times: how the brand answers the mentions that need a reply (questions,
// complaints, support needs; by configuration every direct mention): reply rate, median and
// 90th-percentile time to its first reply, over a range of those mentions.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { Store } from '../../pipelines/store/store.ts'

const Query = Type.Object(
  {
    brand: Type.String({ minLength: 1, maxLength: 128 }),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    /** Only replies before this time count. */
    asOf: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
)

const Seconds = Type.Union([Type.Number(), Type.Null()])
const Stats = Type.Object({ mentions: Type.Integer(), needingReply: Type.Integer(), answered: Type.Integer(), replyRate: Seconds, medianSeconds: Seconds, p90Seconds: Seconds })

export const responsivenessRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get('/api/response-times', { schema: { querystring: Query, response: { 200: Stats } } }, async (request) => store.responseTimes(request.query))
}
