// A post and a scored post for transform tests, with any field overridden.
import { scoreText } from '../../models/lexicon.ts'
import type { Post, ScoredPost } from '../../pipelines/schema.ts'
import { scoreOne } from '../../pipelines/transforms/classify.ts'

export const post = (over: Partial<Post> = {}): Post => ({
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

export const scored = (over: Partial<Post> = {}, text = over.text ?? 'the Lumen X2 is out'): ScoredPost =>
  scoreOne(post({ ...over, text }), scoreText(text), 'en')
