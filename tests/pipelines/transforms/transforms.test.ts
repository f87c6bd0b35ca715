import { firstValueFrom, Observable, toArray } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { scoreText } from '../../../models/lexicon.ts'
import type { Post, ScoredPost } from '../../../pipelines/schema.ts'
import { aggregate, aggregateOne, emptyState, RETAIN_MINUTES } from '../../../pipelines/transforms/aggregate.ts'
import { classify, CLASSIFY_BATCH_MS, scoreOne } from '../../../pipelines/transforms/classify.ts'
import { compileTracking, matchOne } from '../../../pipelines/transforms/match.ts'
import { normaliseEngagementOne, normaliseOne } from '../../../pipelines/transforms/normalise.ts'
import { attributeEngagement, linkReply, RecentPosts } from '../../../pipelines/transforms/relate.ts'
import { failingFirstBatch, MemoryDeadLetter, tracking } from '../../support/fixtures.ts'

const post = (over: Partial<Post> = {}): Post => ({
  id: 'webhook:1',
  source: 'webhook',
  url: '',
  author: { id: 'u1', handle: 'someone', displayName: 'Some One', followers: 10 },
  text: 'the Lumen X2 is out',
  lang: 'en',
  createdAt: '2026-11-23T10:00:30.000Z',
  engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
  brands: ['Lumen'],
  terms: [],
  ...over,
})
const scored = (over: Partial<Post> = {}, text = over.text ?? 'the Lumen X2 is out'): ScoredPost =>
  scoreOne(post({ ...over, text }), scoreText(text), 'en')

describe('normalise', () => {
  it('cleans text, handle and timestamp', () => {
    const result = normaliseOne(
      post({
        text: '  cafe\u0301\u200B  is   open\u0007 ',
        author: { id: 'u', handle: '@SomeOne', displayName: '', followers: 1 },
        createdAt: '2026-11-23T11:00:30+01:00',
      }),
    )
    expect(result).toMatchObject({
      ok: true,
      post: { text: 'café is open', author: { handle: 'someone' }, createdAt: '2026-11-23T10:00:30.000Z' },
    })
  })

  it('refuses what is not a post, saying where and why', () => {
    expect(normaliseOne({ ...post(), author: { id: 'u' } })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('/author'),
    })
    expect(normaliseOne({ ...post(), source: 'myspace' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('/source'),
    })
    expect(normaliseOne({ ...post(), createdAt: 'yesterday' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('/createdAt'),
    })
    expect(normaliseOne({ ...post(), text: ' \u200B ' })).toEqual({ ok: false, reason: '/text is empty' })
    expect(normaliseOne(null)).toMatchObject({ ok: false })
    // Times the store cannot hold: a client's clock, a bad field.
    expect(normaliseOne({ ...post(), createdAt: '1969-12-31T23:59:59Z' })).toEqual({
      ok: false,
      reason: '/createdAt "1969-12-31T23:59:59Z" is outside 1970-2105',
    })
    expect(normaliseOne({ ...post(), createdAt: '2200-01-01T00:00:00Z' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('outside'),
    })
  })

  it('drops what only the pipeline may fill in', () => {
    const result = normaliseOne({
      ...post(),
      ownBrand: 'Lumen',
      replyTo: 'webhook:0',
      answersMentionAt: '2026-11-23T09:00:00.000Z',
    })
    expect(result.ok && result.post.answersMentionAt).toBe(undefined)
  })

  it('checks engagement updates too', () => {
    const update = {
      id: 'like:1',
      postId: 'webhook:1',
      at: '2026-11-23T10:00:00Z',
      delta: { likes: 1, reposts: 0, replies: 0, quotes: 0 },
    }
    expect(normaliseEngagementOne(update)).toEqual({ ok: true, update: { ...update, at: '2026-11-23T10:00:00.000Z' } })
    expect(normaliseEngagementOne({ ...update, at: 'soon' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('/at'),
    })
    expect(normaliseEngagementOne({ ...update, id: '' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('/id'),
    })
  })
})

describe('match', () => {
  const matchers = compileTracking(tracking)
  it('matches keywords as whole words, any case, and @handles', () => {
    expect(matchOne(post({ text: 'LUMEN vs corvid, which one?' }), matchers)).toMatchObject({
      brands: ['Lumen', 'Corvid'],
      terms: ['lumen', 'corvid'],
    })
    expect(matchOne(post({ text: 'asking @lumensupport about it' }), matchers)).toMatchObject({ brands: ['Lumen'] })
    expect(matchOne(post({ text: 'luminescence and nimbuses are not brands' }), matchers)).toBeNull()
  })

  it("marks the brand's own posts and does not count them as mentions of it", () => {
    const own = matchOne(
      post({
        text: 'Lumen here: a fix is coming',
        author: { id: 'b', handle: 'lumensupport', displayName: 'Lumen Support', followers: 1 },
      }),
      matchers,
    )
    expect(own).toMatchObject({ brands: [], ownBrand: 'Lumen' })
  })
})

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

describe('classify', () => {
  it('dead-letters a batch the model fails on and carries on with the next', async () => {
    const flaky = failingFirstBatch('model exploded')
    const deadLetter = new MemoryDeadLetter()
    const first = post({ id: 'webhook:1' })
    const second = post({ id: 'webhook:2' })
    const out = await firstValueFrom(
      // Two batches: the second post arrives after the first batch has closed.
      new Observable<Post>((sub) => {
        sub.next(first)
        setTimeout(() => {
          sub.next(second)
          sub.complete()
        }, CLASSIFY_BATCH_MS * 3)
      }).pipe(classify(flaky, deadLetter), toArray()),
    )
    expect(out.map((p) => p.id)).toEqual(['webhook:2'])
    expect(deadLetter.records).toMatchObject([
      { stage: 'classify', reason: expect.stringContaining('model exploded'), payload: { id: 'webhook:1' } },
    ])
  })
})

describe('relate', () => {
  const mention = post({ id: 'webhook:m', createdAt: '2026-11-23T10:00:00.000Z', brands: ['Lumen'] })
  const competitor = post({ id: 'webhook:c', createdAt: '2026-11-23T10:01:00.000Z', brands: ['Corvid'] })
  const recent = () => {
    const r = new RecentPosts(2)
    r.add(mention)
    r.add(competitor)
    return r
  }
  const reply = (replyTo: string) =>
    post({ id: `webhook:r-${replyTo}`, ownBrand: 'Lumen', replyTo, brands: [], createdAt: '2026-11-23T10:05:00.000Z' })

  it("links a brand's reply to the mention of the brand it answers", () => {
    expect(linkReply(reply('webhook:m'), recent()).answersMentionAt).toBe(mention.createdAt)
    // Not a mention of the replying brand, not seen, or not the brand's own post: nothing to link.
    expect(linkReply(reply('webhook:c'), recent()).answersMentionAt).toBeUndefined()
    expect(linkReply(reply('webhook:unknown'), recent()).answersMentionAt).toBeUndefined()
    expect(linkReply({ ...reply('webhook:m'), ownBrand: undefined }, recent()).answersMentionAt).toBeUndefined()
  })

  it("gives engagement its post's brands and source, and forgets the oldest posts first", () => {
    const update = {
      id: 'like:1',
      postId: 'webhook:m',
      at: '2026-11-23T10:02:00.000Z',
      delta: { likes: 1, reposts: 0, replies: 0, quotes: 0 },
    }
    expect(attributeEngagement(update, recent())).toEqual({ ...update, brands: ['Lumen'], source: 'webhook' })
    const r = recent()
    r.add(post({ id: 'webhook:newer' }))
    expect(r.size).toBe(2)
    expect(attributeEngagement(update, r)).toEqual({ ...update, brands: [], source: '' })
  })
})
