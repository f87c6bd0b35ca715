// The webhook: POST /api/ingest on a real app and a real pipeline into the embedded store. Good
// posts are accepted and stored; each bad line (or item) comes back with its number and why, and
// is dead-lettered; the token, the formats and the size limit are enforced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { type Pipeline, startPipeline } from '../../pipelines/pipeline.ts'
import type { Post } from '../../pipelines/schema.ts'
import { MAX_POSTS_PER_REQUEST, WebhookSource } from '../../pipelines/sources/webhook.ts'
import { buildServer } from '../../server/app.ts'
import { INGEST_BODY_LIMIT, refuseAbove } from '../../server/routes/ingest.ts'
import { MemoryDeadLetter, RecordingLive, tracking } from '../support/fixtures.ts'
import { useEmbeddedStore } from '../support/store.ts'

const TOKEN = 'test-token-0123456789'
const store = useEmbeddedStore('ingest')
const source = new WebhookSource()
const deadLetter = new MemoryDeadLetter()
let app: Awaited<ReturnType<typeof buildServer>>
let pipeline: Pipeline
/** Why the app is behind, when a test says so (the classifier's disk nearly full). */
let behind: string | undefined

const post = (n: number, over: Partial<Post> = {}): Post => ({
  id: `webhook:${n}`,
  source: 'webhook',
  url: `https://example.invalid/${n}`,
  author: { id: `u${n}`, handle: `user${n}`, displayName: `User ${n}`, followers: n },
  text: `is the Lumen X2 battery any good? #${n}`,
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
    ingest: { token: TOKEN, source, deadLetter, busy: () => behind },
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

const ingest = (body: string, contentType = 'application/x-ndjson', token = TOKEN) =>
  app.inject({
    method: 'POST',
    url: '/api/ingest',
    headers: { 'content-type': contentType, authorization: `Bearer ${token}` },
    payload: body,
  })

describe('POST /api/ingest', () => {
  it('accepts good NDJSON lines, reports each bad one by line with why, and stores the good ones', async () => {
    const body = [
      JSON.stringify(post(1)),
      JSON.stringify(post(2, { text: '<script>alert(1)</script> Lumen' })),
      '{not json',
      JSON.stringify({ ...post(3), author: { id: 'x' } }),
      '',
      JSON.stringify(post(4)),
    ].join('\n')
    const res = await ingest(body)
    expect(res.statusCode).toBe(202)
    expect(res.json()).toEqual({
      accepted: 3,
      rejected: [
        { line: 3, reason: expect.stringContaining('not JSON') },
        { line: 4, reason: expect.stringContaining('/author') },
      ],
    })
    await expect.poll(() => store.countPosts(), { timeout: 5_000 }).toBe(3)
    const stored = await store.searchPosts({ source: 'webhook', page: 1, pageSize: 10 })
    expect(stored.posts.map((p) => p.id).sort()).toEqual(['webhook:1', 'webhook:2', 'webhook:4'])
    expect(stored.posts.find((p) => p.id === 'webhook:2')!.text).toBe('<script>alert(1)</script> Lumen')
    expect(deadLetter.records.filter((r) => r.stage === 'ingest').map((r) => r.reason)).toEqual([
      expect.stringMatching(/^line 3: /),
      expect.stringMatching(/^line 4: /),
    ])
  })

  it('accepts JSON, one post or an array, reporting bad items by number', async () => {
    expect((await ingest(JSON.stringify(post(5)), 'application/json')).json()).toEqual({ accepted: 1, rejected: [] })
    const res = await ingest(
      JSON.stringify([post(6), { ...post(7), createdAt: '1969-07-20T20:17:40Z' }]),
      'application/json; charset=utf-8',
    )
    expect(res.statusCode).toBe(202)
    expect(res.json()).toEqual({
      accepted: 1,
      rejected: [{ item: 2, reason: expect.stringContaining('outside 1970') }],
    })
    await expect.poll(() => store.countPosts(), { timeout: 5_000 }).toBe(5)
  })

  it('refuses a request without the token, or with another, in the one error shape', async () => {
    const without = await app.inject({
      method: 'POST',
      url: '/api/ingest',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(post(8)),
    })
    expect(without.statusCode).toBe(401)
    expect(without.json()).toEqual({ error: { code: 'unauthorized', message: expect.stringContaining('Bearer') } })
    expect((await ingest(JSON.stringify(post(8)), 'application/json', 'wrong-token-0123456789')).statusCode).toBe(401)
  })

  it('refuses a body it cannot read, an unknown format, too many posts and too many bytes', async () => {
    const bad = await ingest('{"id": ', 'application/json')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.message).toContain('not JSON')
    const text = await ingest('hello', 'text/plain')
    expect(text.statusCode).toBe(415)
    expect(text.json().error.code).toBe('unsupported_media_type')
    const many = await ingest(Array.from({ length: MAX_POSTS_PER_REQUEST + 1 }, () => '{}').join('\n'))
    expect(many.statusCode).toBe(400)
    expect(many.json().error.message).toContain(`at most ${MAX_POSTS_PER_REQUEST}`)
    const huge = await ingest('x'.repeat(INGEST_BODY_LIMIT + 1))
    expect(huge.statusCode).toBe(413)
    expect(huge.json().error.code).toBe('payload_too_large')
  })

  it('keeps the default JSON parsing of the other routes', async () => {
    expect((await app.inject('/api/aggregates')).statusCode).toBe(200)
  })

  it('refuses only near the end of the disk where events wait, whatever its size', () => {
    expect(refuseAbove(2 ** 30)).toBe(2 ** 30 - 4 * INGEST_BODY_LIMIT)
    // A small spool (SPOOL_MAX_BYTES under four of the largest requests) is not full when empty.
    expect(refuseAbove(10 * 2 ** 20)).toBe(9 * 2 ** 20)
    expect(refuseAbove(0)).toBe(0)
  })

  it('refuses, before reading anything, while Undertow is far behind: 503 with Retry-After, nothing accepted', async () => {
    const receivedBefore = pipeline.stats.received
    behind = 'Undertow is behind: 1020 MiB of events wait for the classifier'
    try {
      const res = await ingest(JSON.stringify(post(900)))
      expect(res.statusCode).toBe(503)
      expect(res.headers['retry-after']).toBe('30')
      expect(res.json()).toEqual({ error: { code: 'unavailable', message: `${behind}; send again in 30 s` } })
    } finally {
      behind = undefined
    }
    await new Promise((r) => setTimeout(r, 200))
    expect(pipeline.stats.received).toBe(receivedBefore)
    expect((await ingest(JSON.stringify(post(901)))).statusCode).toBe(202)
  })

  it('refuses posts once the source is closed (shutting down) instead of losing them', async () => {
    source.close()
    const res = await ingest(JSON.stringify(post(9)), 'application/json')
    expect(res.statusCode).toBe(503)
    expect(res.json().error.code).toBe('unavailable')
  })
})
