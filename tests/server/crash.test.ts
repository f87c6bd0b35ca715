// The real server process (server/main.ts) killed with SIGKILL at random moments, several rounds,
// while a sender posts through the webhook and a fake Jetstream (its real wire format) streams.
// After the restarts every post answered 202 is stored exactly once, and every Jetstream post up
// to the cursor saved at each kill is stored: what was acknowledged was on disk (the intake
// journal), and stayed there until it was stored. So that each claim can fail: "once" is counted
// by the SummingMergeTree view (a row inserted twice counts twice there, whatever merges do to
// `posts`); Jetstream resumes at the cursor itself (JETSTREAM_OVERLAP_MS=0: no overlap hides a
// cursor saved too early); segments close every 200 ms (each round crosses many of their
// boundaries); and the sender sends again every request whose answer it did not get, and some it
// did. (A missing fsync cannot show here, SIGKILL keeps the page cache: journal-commit.test.ts.)
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, describe, expect, it } from 'vitest'
import { EmbeddedStore } from '../../pipelines/store/embedded.ts'
import { FakeJetstream } from '../support/fake-jetstream.ts'
import { exited, startMain } from '../support/main-process.ts'
import { tmpDir } from '../support/tmp.ts'

const TOKEN = 'crash-test-token-0123456789'
const ROUNDS = 4
/** Posts a request, a request every SEND_MS (at most 4 in flight): about 2,500 posts/s. */
const PER_REQUEST = 50
const SEND_MS = 20
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const dir = tmpDir('crash-intake')
afterAll(() => dir.remove())

const webhookPost = (n: number) =>
  JSON.stringify({
    id: `webhook:crash-${n}`,
    source: 'webhook',
    url: '',
    author: { id: `u${n % 101}`, handle: `user${n % 101}`, displayName: 'Sender', followers: 10 },
    text: `Lumen crash test post ${n}: is the battery any better?`,
    lang: 'en',
    createdAt: new Date().toISOString(),
    engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
    brands: [],
    terms: [],
  })

/**
 * Sends posts to whichever server is up now; remembers those answered 202. A request without an
 * answer (the server was killed under it) is sent again, as a sender would; so is one in ten of
 * those answered (a sender that did not hear the answer): stored once all the same.
 */
function sender() {
  let url: string | undefined
  let next = 0
  let inFlight = 0
  let resent = 0
  const accepted = new Set<string>()
  // Sent again as they were, byte for byte (the same posts, the same times).
  const again: { ids: number[]; body: string }[] = []
  const timer = setInterval(() => {
    if (!url || inFlight >= 4) return
    const retry = again.shift()
    const ids = retry?.ids ?? Array.from({ length: PER_REQUEST }, () => next++)
    const sent = retry ?? { ids, body: ids.map(webhookPost).join('\n') }
    if (retry) resent++
    inFlight++
    request(`${url}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${TOKEN}` },
      body: sent.body,
    })
      .then(async (res) => {
        await res.body.dump()
        if (res.statusCode !== 202) return again.push(sent)
        for (const n of ids) accepted.add(`webhook:crash-${n}`)
        if (!retry && ids[0]! % (10 * PER_REQUEST) === 0) again.push(sent)
      })
      .catch(() => again.push(sent)) // the server was killed under it: not acknowledged
      .finally(() => inFlight--)
  }, SEND_MS)
  return {
    accepted,
    resent: () => resent,
    sent: () => next,
    to: (to: string | undefined) => (url = to),
    stop: () => clearInterval(timer),
  }
}

async function health(url: string) {
  const body = (await (await fetch(`${url}/healthz`)).json()) as {
    pipeline: { queues: { classify: number; intakeFiles: number }; spool: { posts: { batches: number } } }
  }
  return body.pipeline
}

describe('the server killed with SIGKILL while posts arrive', () => {
  it('stores every post answered 202 exactly once, and every live-source post before the saved cursor', async () => {
    const fake = await new FakeJetstream().start()
    const env = {
      DATA_DIR: dir.path,
      SOURCES: 'webhook,jetstream',
      JETSTREAM_URL: fake.url(1),
      JETSTREAM_OVERLAP_MS: '0',
      INTAKE_SEGMENT_MS: '200',
      INGEST_TOKEN: TOKEN,
      SENTIMENT_MODEL: 'lexicon',
      INGEST_RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
    }
    const posts = sender()
    // Jetstream streams all along from the first subscription (before it, a client without a
    // cursor is sent the live tail only), whether the server is up or not: it reads again from
    // its cursor.
    const streamed: { id: string; timeUs: number }[] = []
    const streamer = setInterval(() => {
      if (streamed.length === 0 && fake.subscribers.size === 0) return
      for (let i = 0; i < 3; i++) {
        const uri = fake.post(`did:plc:crash${streamed.length % 53}`, `Lumen on Bluesky ${streamed.length}`)
        streamed.push({ id: `jetstream:${uri}`, timeUs: fake.log.at(-1)!.timeUs })
      }
    }, 10)
    const cursorFile = join(dir.path, 'cursors', 'jetstream.json')
    const beforeCursor = new Set<string>()
    const kills: number[] = []
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const app = startMain(env)
        posts.to(await app.url)
        // Killed at a random moment once this round's posts are being accepted.
        const acceptedBefore = posts.accepted.size
        await expect.poll(() => posts.accepted.size, { timeout: 20_000, interval: 20 }).toBeGreaterThan(acceptedBefore)
        const at = 500 + Math.floor(Math.random() * 2_000)
        kills.push(at)
        await sleep(at)
        app.child.kill('SIGKILL')
        await exited(app.child)
        posts.to(undefined)
        expect(existsSync(cursorFile), `round ${round}: a cursor saved`).toBe(true)
        const cursor = (JSON.parse(readFileSync(cursorFile, 'utf8')) as { timeUs: number }).timeUs
        for (const s of streamed) if (s.timeUs <= cursor) beforeCursor.add(s.id)
      }
      posts.stop()
      clearInterval(streamer)
      await sleep(200) // the last requests' answers (none can be 202: nothing is up)

      // The last start: everything left is read, stored, and the process stops cleanly.
      const last = startMain(env)
      const url = await last.url
      await expect
        .poll(
          async () => {
            const p = await health(url)
            return p.queues.intakeFiles + p.queues.classify + p.spool.posts.batches
          },
          { timeout: 30_000, interval: 250 },
        )
        .toBe(0)
      await sleep(1_000) // the store's last half-second batch
      last.child.kill('SIGTERM')
      expect(await exited(last.child)).toBe(0)
    } finally {
      posts.stop()
      clearInterval(streamer)
      await fake.close()
    }

    const store = new EmbeddedStore(dir.path)
    try {
      const rows = await store.select<{ id: string; n: string }>('SELECT id, count() AS n FROM posts GROUP BY id')
      const stored = new Map(rows.map((r) => [r.id, Number(r.n)]))
      const why = `kills after ${kills.join(', ')} ms; ${posts.sent()} posts sent, ${posts.accepted.size} answered 202, ${posts.resent()} requests sent again`
      // Each post mentions one brand: the view counted every row ever inserted, once per post.
      const [counted] = await store.select<{ counted: string; ids: string }>(
        "SELECT (SELECT sum(posts) FROM brand_source_minute WHERE source IN ('webhook', 'jetstream')) AS counted, (SELECT uniqExact(id) FROM posts WHERE source IN ('webhook', 'jetstream')) AS ids",
      )
      expect(Number(counted!.counted), `rows inserted into posts, against distinct ids (${why})`).toBe(
        Number(counted!.ids),
      )
      expect(posts.resent()).toBeGreaterThan(0)
      expect(posts.accepted.size).toBeGreaterThan(500)
      expect(
        [...posts.accepted].filter((id) => !stored.has(id)),
        `posts answered 202 but not stored (${why})`,
      ).toEqual([])
      expect(
        [...beforeCursor].filter((id) => !stored.has(id)),
        `Jetstream posts before a saved cursor but not stored (${why})`,
      ).toEqual([])
      expect(
        [...stored].filter(([, n]) => n > 1),
        `posts stored twice (${why})`,
      ).toEqual([])
      expect(beforeCursor.size).toBeGreaterThan(100)
    } finally {
      await store.close()
    }
    // Everything was settled at the clean stop: the journal kept nothing.
    expect(readdirSync(join(dir.path, 'spool', 'intake')).filter((f) => f.endsWith('.ndjson'))).toEqual([])
  }, 110_000)
})
