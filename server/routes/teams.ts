// GET /api/teams: the teams posts are routed to (ROUTES), with their intents.
// GET /api/teams/:team/posts: a team's history: the stored posts with any intent routed to it,
// newest first, paged (the same search as GET /api/posts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { INTENTS } from '../../pipelines/vocabulary.ts'
import Type from 'typebox'
import { ScoredPost } from '../../pipelines/schema.ts'
import type { Store } from '../../pipelines/store/store.ts'
import { intentsOf, type Routes, teamsOf } from '../../pipelines/transforms/route.ts'
import { checkDepth, MAX_PAGE, MAX_PAGE_SIZE } from './posts.ts'
import { queryTimes } from './times.ts'

const Teams = Type.Object({
  teams: Type.Array(Type.Object({ team: Type.String(), intents: Type.Array(Type.Enum(INTENTS)) })),
})

const Query = Type.Object(
  {
    brand: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
    pageSize: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 50 }),
  },
  { additionalProperties: false },
)

const Page = Type.Object({
  team: Type.String(),
  total: Type.Integer(),
  totalCapped: Type.Boolean(),
  page: Type.Integer(),
  pageSize: Type.Integer(),
  posts: Type.Array(ScoredPost),
})

export const teamRoutes: FastifyPluginAsyncTypebox<{ store: Store; routes: Routes }> = async (
  app,
  { store, routes },
) => {
  const teams = teamsOf(routes)
  app.get('/api/teams', { schema: { response: { 200: Teams } } }, async () => ({
    teams: teams.map((team) => ({ team, intents: intentsOf(routes, team) })),
  }))
  app.get(
    '/api/teams/:team/posts',
    {
      schema: {
        params: Type.Object({ team: Type.String({ maxLength: 64 }) }),
        querystring: Query,
        response: { 200: Page },
      },
    },
    async (request) => {
      const { team } = request.params
      if (!teams.includes(team))
        throw Object.assign(
          new Error(`team ${JSON.stringify(team)} gets no posts (teams: ${teams.join(', ') || 'none'}; see ROUTES)`),
          { statusCode: 404 },
        )
      const { page, pageSize, ...filters } = queryTimes(request.query)
      checkDepth(page, pageSize)
      // As live: the brand's own posts are not routed (transforms/route.ts).
      const result = await store.searchPosts(
        { ...filters, intents: intentsOf(routes, team), excludeOwn: true, page, pageSize },
        request.caller,
      )
      return { team, ...result, page, pageSize }
    },
  )
}
