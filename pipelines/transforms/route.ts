// route: which teams a post goes to, by its intents (a configurable map: comparisons and
// suggestions to product, support needs, questions and complaints to support, praise to
// marketing). Each team has a live feed (a socket.io room) and, optionally, a webhook; its history
// is the search for the intents routed to it, so routing needs nothing stored.
import { asyncScheduler, bufferTime, filter, mergeMap, type OperatorFunction, type SchedulerLike } from 'rxjs'
import { INTENTS } from '../vocabulary.ts'
import type { Intent, ScoredPost } from '../schema.ts'

export type Routes = Readonly<Partial<Record<Intent, string>>>

export const DEFAULT_ROUTES: Routes = {
  question: 'support',
  complaint: 'support',
  support: 'support',
  suggestion: 'product',
  comparison: 'product',
  praise: 'marketing',
}
/** How often each team's feed gets the posts routed to it. */
export const ROUTE_BATCH_MS = 500

/** Every team a post goes to, once, in the order of its intents; the brand's own posts go nowhere. */
export function routeOne(post: ScoredPost, routes: Routes): string[] {
  if (post.ownBrand) return []
  const teams: string[] = []
  for (const intent of post.sentiment?.intents ?? []) {
    const team = routes[intent]
    if (team && !teams.includes(team)) teams.push(team)
  }
  return teams
}

export const teamsOf = (routes: Routes): string[] =>
  [...new Set(Object.values(routes))].filter((t): t is string => t !== undefined).sort()

/** The intents routed to a team: its history is the search for them. */
export const intentsOf = (routes: Routes, team: string): Intent[] => INTENTS.filter((i) => routes[i] === team)

export interface TeamPosts {
  team: string
  posts: ScoredPost[]
}

/** Per team, the posts routed to it in each ROUTE_BATCH_MS, oldest first. */
export function route(
  routes: Routes,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<ScoredPost, TeamPosts> {
  return (posts$) =>
    posts$.pipe(
      bufferTime(ROUTE_BATCH_MS, null, Number.POSITIVE_INFINITY, scheduler),
      filter((batch) => batch.length > 0),
      mergeMap((batch) => {
        const byTeam = new Map<string, ScoredPost[]>()
        for (const post of batch) {
          for (const team of routeOne(post, routes)) {
            const posts = byTeam.get(team)
            if (posts) posts.push(post)
            else byTeam.set(team, [post])
          }
        }
        return [...byTeam].map(([team, posts]) => ({ team, posts }))
      }),
    )
}
