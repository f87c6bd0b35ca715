// GET /api/response-times: how the brand answers the mentions that need a reply (questions,
// complaints, support needs; by configuration every direct mention): reply rate, median and
// 90th-percentile time to its first reply, over a range of those mentions.
// GET /api/dialogue: which of the brand's own posts started conversations, and how deep.
import { DAY_MS } from '../../pipelines/time.ts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { Dialogue } from '../../pipelines/schema.ts'
import type { Store } from '../../pipelines/store/store.ts'
import { queryTimes } from './times.ts'

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
const Stats = Type.Object({
  mentions: Type.Integer(),
  needingReply: Type.Integer(),
  answered: Type.Integer(),
  replyRate: Seconds,
  medianSeconds: Seconds,
  p90Seconds: Seconds,
})

const DialogueQuery = Type.Object(
  {
    brand: Type.String({ minLength: 1, maxLength: 128 }),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    asOf: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
)

export const responsivenessRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get('/api/response-times', { schema: { querystring: Query, response: { 200: Stats } } }, async (request) =>
    store.responseTimes(queryTimes(request.query), request.caller),
  )
  // The brand's own posts of a range (by default the day up to the newest stored post) and the
  // conversations they started.
  app.get('/api/dialogue', { schema: { querystring: DialogueQuery, response: { 200: Dialogue } } }, async (request) => {
    const query = queryTimes(request.query)
    const { brand, asOf } = query
    const to =
      query.to ??
      new Date(
        Math.ceil((Date.parse((await store.latestPostTime(request.caller)) ?? new Date().toISOString()) + 1) / 60_000) *
          60_000,
      ).toISOString()
    const from = query.from ?? new Date(Date.parse(to) - DAY_MS).toISOString()
    return store.dialogue({ brand, from, to, ...(asOf ? { asOf } : {}) }, request.caller)
  })
}
