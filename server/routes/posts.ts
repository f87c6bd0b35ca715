// GET /api/posts: middle-feedback search over stored posts (brand, labels, mixed, uncertain,
// intents, text, source, time range), newest first, paged.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { INTENTS, type Intent, type Label, LABELS, ScoredPost, SOURCE_NAMES } from '../../pipelines/schema.ts'
import type { Store } from '../../pipelines/store/store.ts'

export const MAX_PAGE_SIZE = 200

const list = (values: readonly string[]) => Type.String({ pattern: `^(${values.join('|')})(,(${values.join('|')}))*$`, description: `comma-separated: ${values.join(', ')}` })

const Query = Type.Object(
  {
    brand: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    labels: Type.Optional(list(LABELS)),
    mixed: Type.Optional(Type.Boolean()),
    uncertain: Type.Optional(Type.Boolean()),
    intents: Type.Optional(list(INTENTS)),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    source: Type.Optional(Type.Enum(SOURCE_NAMES)),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
    pageSize: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 50 }),
  },
  { additionalProperties: false },
)

const Page = Type.Object({
  /** Matches counted up to 1,000 (exact on the last page); `totalCapped`: at least that many. */
  total: Type.Integer(),
  totalCapped: Type.Boolean(),
  page: Type.Integer(),
  pageSize: Type.Integer(),
  posts: Type.Array(ScoredPost),
})

export const postRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get('/api/posts', { schema: { querystring: Query, response: { 200: Page } } }, async (request) => {
    const { labels, intents, q, page, pageSize, ...filters } = request.query
    const result = await store.searchPosts({
      ...filters,
      ...(labels ? { labels: labels.split(',') as Label[] } : {}),
      ...(intents ? { intents: intents.split(',') as Intent[] } : {}),
      ...(q ? { text: q } : {}),
      page,
      pageSize,
    })
    return { ...result, page, pageSize }
  })
}
