import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { aggregate, aggregateOne, emptyState, RETAIN_MINUTES } from '../../../pipelines/transforms/aggregate.ts'
import { scored } from '../../support/posts.ts'

describe('aggregate', () => {
  it('counts each brand mention into its minute with the sentiment mix', () => {
    const state = emptyState()
    aggregateOne(state, scored({ brands: ['Lumen', 'Corvid'] }, 'I love it'))
    aggregateOne(state, scored({ createdAt: '2026-11-23T10:00:59.999Z' }, 'this is awful'))
    aggregateOne(state, scored({ createdAt: '2026-11-23T10:01:00.000Z' }, 'a phone'))
    expect(state.windows.get(`Lumen|${Date.parse('2026-11-23T10:00:00Z')}`)).toMatchObject({
      posts: 2,
      positive: 1,
      negative: 1,
      neutral: 0,
    })
    expect(state.windows.get(`Corvid|${Date.parse('2026-11-23T10:00:00Z')}`)).toMatchObject({ posts: 1, positive: 1 })
    expect(state.windows.get(`Lumen|${Date.parse('2026-11-23T10:01:00Z')}`)).toMatchObject({ posts: 1, neutral: 1 })
  })

  it('keeps RETAIN_MINUTES of windows and counts older posts as late', () => {
    const state = emptyState()
    aggregateOne(state, scored({ createdAt: '2026-11-23T10:00:00.000Z' }))
    aggregateOne(
      state,
      scored({ createdAt: new Date(Date.parse('2026-11-23T10:00:00Z') + (RETAIN_MINUTES + 1) * 60_000).toISOString() }),
    )
    expect(state.windows.size).toBe(1)
    expect(aggregateOne(state, scored({ createdAt: '2026-11-23T10:00:10.000Z' }))).toEqual([])
    expect(state.late).toBe(1)
  })

  it('emits the full values of changed windows once per flush', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      const a = scored({}, 'I love it')
      const b = scored({}, 'this is awful')
      const c = scored({ createdAt: '2026-11-23T10:05:00.000Z' })
      const posts$ = cold('a 100ms b 200ms c 300ms |', { a, b, c })
      const w = (minute: string, counts: object) => ({
        brand: 'Lumen',
        minute,
        posts: 0,
        negative: 0,
        neutral: 0,
        positive: 0,
        mixed: 0,
        uncertain: 0,
        unscored: 0,
        ...counts,
      })
      expectObservable(posts$.pipe(aggregate(undefined))).toBe('250ms x 249ms y 102ms |', {
        x: [w('2026-11-23T10:00:00.000Z', { posts: 2, positive: 1, negative: 1 })],
        y: [w('2026-11-23T10:05:00.000Z', { posts: 1, neutral: 1, uncertain: 1 })],
      })
    })
  })
})
