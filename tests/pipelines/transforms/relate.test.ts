import { describe, expect, it } from 'vitest'
import { attributeEngagement, linkReply, RecentPosts } from '../../../pipelines/transforms/relate.ts'
import { post } from '../../support/posts.ts'

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
