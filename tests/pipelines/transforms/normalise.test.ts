import { describe, expect, it } from 'vitest'
import { normaliseEngagementOne, normaliseOne } from '../../../pipelines/transforms/normalise.ts'
import { post } from '../../support/posts.ts'

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
