// Values the Post schema's JSON allows that the store cannot keep as given, through the webhook
// into the real pipeline and embedded store: a leap second is read as its minute's last
// millisecond (not refused, not a 500), an RFC 9557 suffix after the offset is read past, a count
// past the store's UInt32 is refused by name and why (never stored wrapped), followers past
// UInt32 are stored exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { type Pipeline, startPipeline } from '../../pipelines/pipeline.ts'
import type { Post } from '../../pipelines/schema.ts'
import { WebhookSource } from '../../pipelines/sources/webhook.ts'
import { normaliseDeletionOne, normaliseEngagementOne } from '../../pipelines/transforms/normalise.ts'
import { buildServer } from '../../server/app.ts'
import { MemoryDeadLetter, RecordingLive, tracking } from '../support/fixtures.ts'
import { useEmbeddedStore } from '../support/store.ts'

const TOKEN = 'test-token-0123456789'
const store = useEmbeddedStore('ingest-values')
const source = new WebhookSource()
const deadLetter = new MemoryDeadLetter()
let app: Awaited<ReturnType<typeof buildServer>>
let pipeline: Pipeline

const post = (n: number, over: Partial<Post> = {}): Post => ({
  id: `webhook:v${n}`,
  source: 'webhook',
  url: '',
  author: { id: `u${n}`, handle: `user${n}`, displayName: '', followers: n },
  text: `the Lumen X2 battery, take ${n}`,
  lang: 'en',
  createdAt: new Date(Date.UTC(2026, 10, 23, 10, 0, n)).toISOString(),
  engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
  brands: [],
  terms: [],
  ...over,
})

beforeAll(async () => {
  app = await buildServer({
    store,
    view: new LiveView(),
    tracking,
    health: { classifier: 'vader-lexicon', sources: ['webhook'], stats: () => ({}) },
    ingest: { token: TOKEN, source, deadLetter },
  })
  pipeline = startPipeline({
    sources: [source.events$],
    classifier: new LexiconClassifier(),
    tracking,
    store,
    live: new RecordingLive(),
    deadLetter,
  })
})
afterAll(async () => {
  source.close()
  await pipeline.done
  await app.close()
})

const ingest = (posts: unknown[]) =>
  app.inject({
    method: 'POST',
    url: '/api/ingest',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    payload: JSON.stringify(posts),
  })

describe('values past what the store keeps', () => {
  it('reads a leap second as the last millisecond of its minute, and stores the post', async () => {
    const res = await ingest([
      post(1, { createdAt: '2026-12-31T23:59:60Z' }),
      post(2, { createdAt: '2026-12-31T23:59:60.5+00:00' }),
    ])
    expect(res.statusCode, res.body).toBe(202)
    expect(res.json()).toEqual({ accepted: 2, rejected: [] })
    await expect.poll(() => store.countPosts(), { timeout: 5_000 }).toBe(2)
    const stored = await store.searchPosts({ ids: ['webhook:v1', 'webhook:v2'], page: 1, pageSize: 10 })
    expect(stored.posts.map((p) => p.createdAt)).toEqual(['2026-12-31T23:59:59.999Z', '2026-12-31T23:59:59.999Z'])
  })

  it('refuses a count past 4,294,967,295 by name and why, and stores followers past it exactly', async () => {
    const res = await ingest([
      post(3, { engagement: { likes: 5e9, reposts: 0, replies: 0, quotes: 0 } }),
      post(4, { author: { id: 'u4', handle: 'big', displayName: '', followers: 5e9 } }),
    ])
    expect(res.statusCode).toBe(202)
    expect(res.json()).toEqual({
      accepted: 1,
      rejected: [
        {
          item: 1,
          reason: expect.stringMatching(/^\/engagement\/likes must be <= 4294967295 \(the most the store keeps/),
        },
      ],
    })
    expect(deadLetter.records.at(-1)).toMatchObject({
      stage: 'ingest',
      reason: expect.stringContaining('/engagement/likes'),
    })
    await expect.poll(() => store.countPosts(), { timeout: 5_000 }).toBe(3)
    const [big] = (await store.searchPosts({ ids: ['webhook:v4'], page: 1, pageSize: 1 })).posts
    expect(big!.author.followers).toBe(5e9)
    expect((await store.searchPosts({ ids: ['webhook:v3'], page: 1, pageSize: 1 })).posts).toEqual([])
  })

  it('reads a time with an RFC 9557 suffix (a zone or calendar name) as its offset says, and stores the post', async () => {
    // The date-time format takes these; Date.parse does not.
    const res = await ingest([
      post(5, { createdAt: '2026-12-31T11:00:00+01:00[Europe/Paris]' }),
      post(6, { createdAt: '2026-12-31T10:00:01Z[!UTC][u-ca=iso8601]' }),
    ])
    expect(res.statusCode, res.body).toBe(202)
    expect(res.json()).toEqual({ accepted: 2, rejected: [] })
    await expect.poll(() => store.countPosts(), { timeout: 5_000 }).toBe(5)
    const stored = await store.searchPosts({ ids: ['webhook:v5', 'webhook:v6'], page: 1, pageSize: 10 })
    expect(stored.posts.map((p) => p.createdAt).sort()).toEqual([
      '2026-12-31T10:00:00.000Z',
      '2026-12-31T10:00:01.000Z',
    ])
    // A bracket that is not a whole suffix is not a time: refused by the format, by name.
    const bad = await ingest([post(7, { createdAt: '2026-12-31T10:00:00Z[Europe/Paris' })])
    expect(bad.json()).toEqual({ accepted: 0, rejected: [{ item: 1, reason: expect.stringContaining('/createdAt') }] })
  })

  it('does the same for engagement updates and deletions', () => {
    expect(
      normaliseEngagementOne({
        id: 'e1',
        postId: 'webhook:v1',
        at: '2026-12-31T23:59:60Z',
        delta: { likes: 1, reposts: 0, replies: 0, quotes: 0 },
      }),
    ).toEqual({
      ok: true,
      update: {
        id: 'e1',
        postId: 'webhook:v1',
        at: '2026-12-31T23:59:59.999Z',
        delta: { likes: 1, reposts: 0, replies: 0, quotes: 0 },
      },
    })
    expect(
      normaliseEngagementOne({
        id: 'e2',
        postId: 'webhook:v1',
        at: '2026-12-31T10:00:00Z',
        delta: { likes: 0, reposts: 2 ** 32, replies: 0, quotes: 0 },
      }),
    ).toEqual({ ok: false, reason: expect.stringContaining('/delta/reposts must be <= 4294967295') })
    expect(normaliseDeletionOne({ postId: 'webhook:v1', at: '2026-12-31T23:59:60Z' })).toEqual({
      ok: true,
      value: { postId: 'webhook:v1', at: '2026-12-31T23:59:59.999Z' },
    })
    expect(normaliseDeletionOne({ postId: 'webhook:v1', at: '2026-12-31T23:59:60Z[UTC]' })).toEqual({
      ok: true,
      value: { postId: 'webhook:v1', at: '2026-12-31T23:59:59.999Z' },
    })
  })
})
