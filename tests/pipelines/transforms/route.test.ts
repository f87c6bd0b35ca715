// Routing by intent (pure, and as an operator on virtual time), and the live fan-out to several
// outputs.
import { TestScheduler } from 'rxjs/testing'
import type { Live } from '../../../pipelines/contract.ts'
import { describe, expect, it } from 'vitest'
import type { Intent, ScoredPost } from '../../../pipelines/schema.ts'
import { fanOut } from '../../../pipelines/sinks/fan-out.ts'
import {
  DEFAULT_ROUTES,
  intentsOf,
  route,
  ROUTE_BATCH_MS,
  routeOne,
  teamsOf,
} from '../../../pipelines/transforms/route.ts'

const post = (id: string, intents: Intent[]) => ({ id, sentiment: { intents } }) as unknown as ScoredPost

describe('route', () => {
  it('sends a post to each team of its intents, once', () => {
    expect(routeOne(post('a', ['question', 'complaint', 'praise']), DEFAULT_ROUTES)).toEqual(['support', 'marketing'])
    expect(routeOne(post('b', []), DEFAULT_ROUTES)).toEqual([])
    expect(routeOne(post('c', ['comparison']), { comparison: 'research' })).toEqual(['research'])
    expect(teamsOf(DEFAULT_ROUTES)).toEqual(['marketing', 'product', 'support'])
    expect(intentsOf(DEFAULT_ROUTES, 'product')).toEqual(['suggestion', 'comparison'])
  })

  it("gathers each team's posts per batch, in order", () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      const a = post('a', ['question'])
      const b = post('b', ['suggestion', 'support'])
      const c = post('c', ['praise'])
      const feeds$ = cold('a b 100ms c 500ms |', { a, b, c }).pipe(route(DEFAULT_ROUTES))
      // One batch at 500 ms; the input ends at 603 ms with nothing left to send.
      expectObservable(feeds$).toBe(`${ROUTE_BATCH_MS}ms (xyz) 98ms |`, {
        x: { team: 'support', posts: [a, b] },
        y: { team: 'product', posts: [b] },
        z: { team: 'marketing', posts: [c] },
      })
    })
  })
})

describe('fan-out', () => {
  it('gives every output its push, even when one throws, and tells of the failure', () => {
    const got: string[] = []
    const errors: unknown[] = []
    const failing: Live = {
      push: (feed) => {
        if (feed === 'posts') throw new Error('socket gone')
      },
    }
    const live = fanOut(
      [
        failing,
        { push: (feed, value) => feed === 'posts' && got.push(`posts ${(value as ScoredPost[]).length}`) },
        { push: (feed, value) => feed === 'teamPosts' && got.push(`team ${(value as { team: string }).team}`) },
      ],
      (e) => errors.push(e),
    )
    live.push('posts', [post('a', [])])
    live.push('teamPosts', { team: 'support', posts: [] })
    live.push('metrics', [])
    expect(got).toEqual(['posts 1', 'team support'])
    expect(errors).toEqual([new Error('socket gone')])
  })
})
