// The webhook with the intake journal, on a listening app and a real pipeline: a 202 comes once the
// posts are in the journal's files, a journal that will not take them answers 503, and a request
// that will be refused (no token, a format it does not read) is answered from its headers, its
// body never read.
import { readdirSync, readFileSync } from 'node:fs'
import { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { type Pipeline, startPipeline } from '../../pipelines/pipeline.ts'
import type { Post } from '../../pipelines/schema.ts'
import { Journal } from '../../pipelines/sinks/journal.ts'
import { WebhookSource } from '../../pipelines/sources/webhook.ts'
import { buildServer } from '../../server/app.ts'
import { INGEST_BODY_LIMIT } from '../../server/routes/ingest.ts'
import { MemoryDeadLetter, RecordingLive, tracking } from '../support/fixtures.ts'
import { useEmbeddedStore } from '../support/store.ts'
import { tmpDir } from '../support/tmp.ts'

const TOKEN = 'test-token-0123456789'
const store = useEmbeddedStore('ingest-journal')
const dir = tmpDir('ingest-journal')
const journal = new Journal(dir.path, 1 << 30)
const source = new WebhookSource(journal)
let app: Awaited<ReturnType<typeof buildServer>>
let pipeline: Pipeline
let port = 0

const post = (n: number): Post => ({
  id: `webhook:j${n}`,
  source: 'webhook',
  url: '',
  author: { id: `u${n}`, handle: `user${n}`, displayName: `User ${n}`, followers: n },
  text: `is the Lumen X2 battery any good? #${n}`,
  lang: 'en',
  createdAt: new Date(Date.UTC(2026, 10, 23, 10, 0, n % 60)).toISOString(),
  engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
  brands: [],
  terms: [],
})

beforeAll(async () => {
  app = await buildServer({
    store,
    view: new LiveView(),
    tracking,
    health: { classifier: 'vader-lexicon', sources: ['webhook'], stats: () => ({}) },
    ingest: { token: TOKEN, source, deadLetter: new MemoryDeadLetter() },
  })
  pipeline = startPipeline({
    sources: [source.events$],
    classifier: new LexiconClassifier(),
    tracking,
    store,
    live: new RecordingLive(),
    deadLetter: new MemoryDeadLetter(),
    intake: journal,
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  port = (app.server.address() as { port: number }).port
})
afterAll(async () => {
  source.close()
  await pipeline.done
  await app.close()
  await journal.close()
  dir.remove()
})

const ingest = (body: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${port}/api/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${TOKEN}`, ...headers },
    body,
  })

/** Sends the headers of a request with a body of `declared` bytes, and only `sent` of them; resolves with the answer's status line and whether the server hung up. */
function partial(headers: string, declared: number, sent: number) {
  return new Promise<{ status: string; closed: boolean; ms: number }>((resolve, reject) => {
    const started = Date.now()
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.on('data', (d) => (answer += d))
    socket.on('error', () => {}) // the server hanging up on the rest of the body is the point
    socket.on('close', () => resolve({ status: answer.split('\r\n')[0] ?? '', closed: true, ms: Date.now() - started }))
    socket.setTimeout(3_000, () => {
      socket.destroy()
      reject(
        new Error(`no answer within 3 s while the body was unfinished (got ${JSON.stringify(answer.slice(0, 40))})`),
      )
    })
    socket.write(`POST /api/ingest HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${declared}\r\n${headers}\r\n`)
    socket.write('x'.repeat(sent))
  })
}

describe('POST /api/ingest with the intake journal', () => {
  it('answers 202 once the posts are in the journal on disk, and stores them', async () => {
    const res = await ingest([post(1), post(2)].map((p) => JSON.stringify(p)).join('\n'))
    expect(res.status).toBe(202)
    // Read at once, after the answer: the posts are in the files.
    const onDisk = readdirSync(dir.path)
      .filter((f) => f.endsWith('.ndjson'))
      .map((f) => readFileSync(join(dir.path, f), 'utf8'))
      .join('')
    expect(onDisk).toContain('"webhook:j1"')
    expect(onDisk).toContain('"webhook:j2"')
    await expect
      .poll(
        async () =>
          Number(
            (await store.select<{ n: string }>(`SELECT count() AS n FROM posts WHERE startsWith(id, 'webhook:j')`))[0]!
              .n,
          ),
        { timeout: 10_000 },
      )
      .toBe(2)
  })

  it('answers a request without the token from its headers, hanging up on the 16 MiB body it never reads', async () => {
    const refused = await partial('content-type: application/x-ndjson\r\n', INGEST_BODY_LIMIT, 64 * 1024)
    expect(refused.status).toBe('HTTP/1.1 401 Unauthorized')
    expect(refused.closed).toBe(true)
    const wrongType = await partial(
      `content-type: text/plain\r\nauthorization: Bearer ${TOKEN}\r\n`,
      INGEST_BODY_LIMIT,
      1024,
    )
    expect(wrongType.status).toBe('HTTP/1.1 415 Unsupported Media Type')
  })

  it('answers 503 with why when the journal will not take the posts, and nothing of them is stored', async () => {
    const small = new Journal(join(dir.path, 'small'), 64)
    const full = new WebhookSource(small)
    const other = await buildServer({
      store,
      view: new LiveView(),
      tracking,
      health: { classifier: 'vader-lexicon', sources: ['webhook'], stats: () => ({}) },
      ingest: { token: TOKEN, source: full, deadLetter: new MemoryDeadLetter() },
    })
    try {
      const res = await other.inject({
        method: 'POST',
        url: '/api/ingest',
        headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${TOKEN}` },
        payload: JSON.stringify(post(3)),
      })
      expect(res.statusCode).toBe(503)
      expect(res.json().error.message).toContain('the intake journal is full')
      expect(small.bytes()).toBe(0)
    } finally {
      await other.close()
      await small.close()
    }
  })
})
