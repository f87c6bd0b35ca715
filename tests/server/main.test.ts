// The process as `npm start` runs it: start, serve a connected wall, stop on SIGTERM with
// everything flushed, and restart on the same data without retelling stored minutes.
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { io as connect } from 'socket.io-client'
import { afterAll, describe, expect, it } from 'vitest'
import { Session } from 'chdb'
import { exited, startMain } from '../support/main-process.ts'
import { FakeJetstream } from '../support/fake-jetstream.ts'
import { FakeMastodon } from '../support/fake-mastodon.ts'
import { tmpDir } from '../support/tmp.ts'

const dir = tmpDir('main')
afterAll(() => dir.remove())
const start = (env: Record<string, string>) => startMain({ DATA_DIR: dir.path, ...env })
const stopped = exited

describe('main', () => {
  it('refuses a bad configuration with a message naming it', async () => {
    const { child, output } = start({ PORT: 'eighty' })
    expect(await stopped(child)).toBe(1)
    expect(output()).toContain('PORT="eighty"')
  })

  it('serves a wall, stops on SIGTERM with everything stored, and resumes after a restart', async () => {
    const startedAt = Date.now()
    const first = start({})
    const url = await first.url
    const wall = connect(url, { transports: ['websocket'], reconnection: false })
    const next = (event: 'snapshot.v1' | 'aggregates.updated.v1') => new Promise((ok) => wall.once(event, ok))
    await next('snapshot.v1')
    await next('aggregates.updated.v1')
    first.child.kill('SIGTERM')
    expect(await stopped(first.child)).toBe(0)
    wall.close()
    const storedFirst = Number(/stopped; (\d+) posts stored/.exec(first.output())?.[1])
    expect(storedFirst).toBeGreaterThan(0)

    const second = start({})
    await second.url
    await new Promise((r) => setTimeout(r, 1_500))
    second.child.kill('SIGINT')
    expect(await stopped(second.child)).toBe(0)
    const storedSecond = Number(/stopped; (\d+) posts stored/.exec(second.output())?.[1])

    // Straight to the tables: each run's posts carry its own id prefix (seed and start).
    const session = new Session(resolve(dir.path, 'clickhouse'))
    try {
      const result = await session.queryAsync(
        "SELECT splitByChar(':', id)[2] AS run, toString(min(created_at)) AS first, toString(max(created_at)) AS last, count() AS n FROM posts GROUP BY run ORDER BY first",
        { format: 'JSONEachRow' },
      )
      const runs = result
        .text()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { first: string; last: string; n: string })
      expect(runs.map((r) => Number(r.n))).toEqual([storedFirst, storedSecond])
      expect(runs[1]!.first > runs[0]!.last).toBe(true)
      // On the fresh store, the simulated day began 50 minutes before the start (replayed at once,
      // so the risk baselines are warm for the story); the restart resumed where it stopped.
      const utc = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`)
      expect(startedAt - utc(runs[0]!.first)).toBeGreaterThan(45 * 60_000)
      expect(startedAt - utc(runs[0]!.first)).toBeLessThan(52 * 60_000)
    } finally {
      session.close()
    }
  })

  it('takes posts through the webhook when configured, and stores them before it stops', async () => {
    const other = tmpDir('main-webhook')
    const app = startMain({
      DATA_DIR: other.path,
      SOURCES: 'webhook',
      INGEST_TOKEN: 'a-token-of-sixteen+',
      SENTIMENT_MODEL: 'lexicon',
    })
    try {
      const url = await app.url
      const post = {
        id: 'webhook:main-1',
        source: 'webhook',
        url: '',
        author: { id: 'u', handle: 'u', displayName: 'U', followers: 1 },
        text: 'the Lumen X2 is out',
        lang: 'en',
        createdAt: new Date().toISOString(),
        engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
        brands: [],
        terms: [],
      }
      const send = () =>
        fetch(`${url}/api/ingest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer a-token-of-sixteen+' },
          body: JSON.stringify(post),
        })
      expect((await send()).status).toBe(202)
      await expect
        .poll(
          async () => ((await (await fetch(`${url}/api/posts?source=webhook`)).json()) as { total: number }).total,
          { timeout: 10_000 },
        )
        .toBe(1)
      // What it did, for Prometheus, and whether it is ready for traffic.
      const wall = connect(url, { transports: ['websocket'], reconnection: false })
      await new Promise((ok) => wall.once('snapshot.v1', ok))
      const metrics = await (await fetch(`${url}/metrics`)).text()
      wall.close()
      expect(metrics).toMatch(/^undertow_pipeline_events_total\{outcome="stored"\} 1$/m)
      expect(metrics).toMatch(/^undertow_pipeline_events_total\{outcome="received"\} 1$/m)
      expect(metrics).toMatch(/^undertow_socket_clients 1$/m)
      expect(metrics).toMatch(/^# TYPE undertow_dead_letters_total counter$/m)
      expect(metrics).toMatch(/^undertow_spool_batches\{table="posts"\} 0$/m)
      expect(metrics).toMatch(/^undertow_process_resident_memory_bytes \d+/m)
      expect(metrics).toMatch(/^undertow_queue_depth\{queue="classify"\} 0$/m)
      expect(metrics).toMatch(/^undertow_queue_depth\{queue="intake_files"\} 0$/m)
      expect(metrics).toMatch(/^undertow_classifier_batch_seconds_count [1-9]/m)
      expect(metrics).toMatch(/^undertow_alerts\{state="open",severity="critical"\} 0$/m)
      expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ ready: true, classifier: 'vader-lexicon' })
      app.child.kill('SIGTERM')
      expect(await stopped(app.child)).toBe(0)
      expect(app.output()).toContain('stopped; 1 posts stored')
    } finally {
      app.child.kill('SIGKILL')
      other.remove()
    }
  })

  it('follows Bluesky through Jetstream when configured, and resumes from its cursor after a restart', async () => {
    const fake = await new FakeJetstream().start()
    await withApp(
      'main-jetstream',
      fake,
      { SOURCES: 'jetstream', JETSTREAM_URL: fake.url(2), JETSTREAM_VERSION: '2', SOURCE_DOWN_GRACE_S: '2' },
      async (app) => {
        await expect.poll(() => fake.subscribers.size, { timeout: 10_000 }).toBe(1)
        const first = fake.post('did:plc:alice', 'is the Lumen X2 battery any good?')
        fake.post('did:plc:bob', 'nothing about any brand here')
        fake.like('did:plc:bob', first)
        await expect.poll(() => app.total('jetstream'), { timeout: 10_000 }).toBe(1)
        // Posted while Undertow was down: read from the saved cursor when it comes back.
        await app.restart('SIGTERM', () => fake.post('did:plc:carol', 'Lumen support answered in minutes'))
        await expect.poll(() => app.total('jetstream'), { timeout: 10_000 }).toBe(2)
        // Resumed from a time (each version reads one alike), some seconds before the last event read.
        const like = fake.log.find((e) => e.did === 'did:plc:bob' && e.commit?.collection === 'app.bsky.feed.like')!
        expect(Number(fake.queries.at(-1)!.get('cursor'))).toBeLessThanOrEqual(like.timeUs)
        expect(Number(fake.queries.at(-1)!.get('cursor'))).toBeGreaterThanOrEqual(fake.log[0]!.timeUs)
        const page = (await (await fetch(`${await app.url()}/api/posts?source=jetstream`)).json()) as {
          posts: { id: string; engagement: { likes: number } }[]
        }
        expect(page.posts.find((p) => p.id === `jetstream:${first}`)?.engagement.likes).toBe(1)
        // Ready while the stream is connected; not once it has been down past the grace, and /readyz says which.
        const url = await app.url()
        expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ ready: true, classifier: 'vader-lexicon' })
        expect(await (await fetch(`${url}/metrics`)).text()).toMatch(
          /^undertow_source_connected\{source="jetstream"\} 1$/m,
        )
        fake.dropAll()
        fake.refuse = true
        await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 10_000 }).toBe(503)
        expect(await (await fetch(`${url}/readyz`)).json()).toEqual({
          ready: false,
          classifier: 'vader-lexicon',
          missing: [expect.stringMatching(/^source jetstream is not connected/)],
        })
        fake.refuse = false
        await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 10_000 }).toBe(200)
      },
    )
  })

  it('follows a Mastodon instance when configured, and fills the gap while it was stopped', async () => {
    const fake = await new FakeMastodon('a-token').start()
    await withApp(
      'main-mastodon',
      fake,
      { SOURCES: 'mastodon', MASTODON_URL: fake.url, MASTODON_TOKEN: 'a-token', MASTODON_STREAM: 'hashtag:lumen' },
      async (app) => {
        await expect.poll(() => fake.subscribers.size, { timeout: 10_000 }).toBe(1)
        const first = fake.post('alice', 'is the Lumen X2 battery any good? #lumen')
        await expect.poll(() => app.total('mastodon'), { timeout: 10_000 }).toBe(1)
        await app.restart('SIGTERM', () =>
          fake.post('bob', 'Lumen support answered in minutes #lumen', { replyTo: first.id }),
        )
        await expect.poll(() => app.total('mastodon'), { timeout: 10_000 }).toBe(2)
        // From a minute before the last status read, but not before the first: just before it.
        expect(fake.requests.find((r) => r.startsWith('/api/v1/timelines/'))).toContain(
          `min_id=${BigInt(first.id) - 1n}`,
        )
      },
    )
  })

  it('loses nothing of Jetstream when killed mid-stream: the restart reads again what was on its way', async () => {
    const fake = await new FakeJetstream().start()
    await withApp('main-jetstream-crash', fake, { SOURCES: 'jetstream', JETSTREAM_URL: fake.url(1) }, async (app) => {
      await expect.poll(() => fake.subscribers.size, { timeout: 10_000 }).toBe(1)
      const sent: string[] = []
      // Killed right after the cursor moved on while running: the posts read just before it are
      // still in the store's half-second batch, and only the restart's overlap reads them again.
      const cursor = join(app.dataDir, 'cursors', 'jetstream.json')
      const saved = () => (existsSync(cursor) ? readFileSync(cursor, 'utf8') : '')
      let first = ''
      for (let i = 0; i < 4000; i++) {
        sent.push(`jetstream:${fake.post(`did:plc:user${i % 37}`, `Lumen post ${i}`)}`)
        if (i % 10 !== 9) continue
        await new Promise((r) => setTimeout(r, 20))
        if (!first) first = saved()
        else if (saved() !== first) break
      }
      await app.restart('SIGKILL')
      await expect.poll(() => app.total('jetstream'), { timeout: 15_000 }).toBe(sent.length)
      const ids: string[] = []
      for (let n = 1; ; n++) {
        const { posts } = (await (
          await fetch(`${await app.url()}/api/posts?source=jetstream&pageSize=200&page=${n}`)
        ).json()) as { posts: { id: string }[] }
        if (posts.length === 0) break
        ids.push(...posts.map((p) => p.id))
      }
      expect(ids.sort()).toEqual([...sent].sort())
    })
  })

  it('loses nothing of Mastodon when killed mid-stream: the restart fills from a minute before', async () => {
    const fake = await new FakeMastodon('a-token').start()
    await withApp(
      'main-mastodon-crash',
      fake,
      { SOURCES: 'mastodon', MASTODON_URL: fake.url, MASTODON_TOKEN: 'a-token', MASTODON_STREAM: 'hashtag:lumen' },
      async (app) => {
        await expect.poll(() => fake.subscribers.size, { timeout: 10_000 }).toBe(1)
        const cursor = join(app.dataDir, 'cursors', `mastodon-${fake.host}-hashtag_lumen.json`)
        const saved = () => (existsSync(cursor) ? readFileSync(cursor, 'utf8') : '')
        const sent: string[] = []
        let first = ''
        for (let i = 0; i < 4000; i++) {
          sent.push(`mastodon:${fake.host}/${fake.post(`user${i % 37}`, `Lumen post ${i} #lumen`).id}`)
          if (i % 10 !== 9) continue
          await new Promise((r) => setTimeout(r, 20))
          if (!first) first = saved()
          else if (saved() !== first) break
        }
        await app.restart('SIGKILL')
        await expect.poll(() => app.total('mastodon'), { timeout: 15_000 }).toBe(sent.length)
      },
    )
  })
})

interface RunningApp {
  dataDir: string
  url(): Promise<string>
  /** Stored posts of one source, as the API counts them. */
  total(source: string): Promise<number>
  /** Stops the app (SIGTERM: cleanly; SIGKILL: a crash), runs `meanwhile`, and starts it again. */
  restart(signal: 'SIGTERM' | 'SIGKILL', meanwhile?: () => void): Promise<void>
}

/** The app on a fresh data folder with a live connector; stopped cleanly at the end, and everything removed. */
async function withApp(
  name: string,
  fake: { close(): Promise<void> },
  env: Record<string, string>,
  body: (app: RunningApp) => Promise<void>,
) {
  const data = tmpDir(name)
  const fullEnv = { DATA_DIR: data.path, COMPETITORS: 'Corvid', SENTIMENT_MODEL: 'lexicon', ...env }
  let app = startMain(fullEnv)
  const running: RunningApp = {
    dataDir: data.path,
    url: () => app.url,
    total: async (source) =>
      ((await (await fetch(`${await app.url}/api/posts?source=${source}`)).json()) as { total: number }).total,
    async restart(signal, meanwhile) {
      app.child.kill(signal)
      const code = await stopped(app.child)
      if (signal === 'SIGTERM') expect(code).toBe(0)
      meanwhile?.()
      app = startMain(fullEnv)
      await app.url
    },
  }
  try {
    await app.url
    await body(running)
    app.child.kill('SIGTERM')
    expect(await stopped(app.child)).toBe(0)
  } finally {
    app.child.kill('SIGKILL')
    await fake.close()
    data.remove()
  }
}
