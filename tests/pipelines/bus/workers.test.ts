// Scale-out, the real processes: nats-server (JetStream) and clickhouse-server started here, one
// ingest process taking posts through its webhook and publishing them, and three workers sharing
// the bus's consumer, classifying and storing. One worker is killed with SIGKILL mid-stream: the
// posts it held unacknowledged go to the others, and in the end every post is stored exactly once,
// and counted once in the minute aggregates.
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { afterAll, expect, it } from 'vitest'
import { BUS_CONSUMER, BUS_STREAM } from '../../../pipelines/bus/nats.ts'
import { describeWithServer, useClickHouseServer } from '../../support/clickhouse-server.ts'
import { exited, startMain } from '../../support/main-process.ts'
import { describeWithNats, useNatsServer } from '../../support/nats-server.ts'
import { tmpDir } from '../../support/tmp.ts'

const TOKEN = 'bus-test-ingest-token'
const POSTS = 6_000
const PER_REQUEST = 200

const post = (i: number) => ({
  id: `bus:${i}`,
  source: 'webhook',
  url: '',
  author: { id: `u${i % 97}`, handle: `u${i % 97}`, displayName: 'U', followers: 10 },
  text:
    i % 3 === 0
      ? `the Lumen X2 keeps crashing, post ${i}`
      : i % 3 === 1
        ? `is the Lumen X2 worth it? asking for ${i}`
        : `Lumen X2 is lovely ${i}`,
  lang: 'en',
  createdAt: new Date(Date.UTC(2026, 10, 30, 12, 0) + i * 100).toISOString(),
  engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
  brands: [],
  terms: [],
})

const sendTo = (ingestUrl: string) => async (from: number) => {
  const body = JSON.stringify(Array.from({ length: PER_REQUEST }, (_, k) => post(from + k)))
  const response = await fetch(`${ingestUrl}/api/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body,
  })
  expect(response.status).toBe(202)
}

describeWithNats('bus: three workers over one stream', () => {
  describeWithServer('with a ClickHouse server', () => {
    const nats = useNatsServer('workers')
    const clickhouse = useClickHouseServer('workers')
    const dir = tmpDir('bus-workers')
    const children: ReturnType<typeof startMain>[] = []
    // The second test goes on with what the first left running.
    let survivors: ReturnType<typeof startMain>[] = []
    let send: (from: number) => Promise<void> = async () => {
      throw new Error('the first test did not run')
    }
    afterAll(async () => {
      for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL')
      await Promise.all(children.map((c) => exited(c.child)))
      dir.remove()
    })

    it('stores every post exactly once, though a worker is killed mid-stream', async () => {
      const common = {
        BUS_URL: nats.url(),
        CLICKHOUSE_URL: clickhouse.process().url,
        CLICKHOUSE_DATABASE: 'bus',
        SENTIMENT_MODEL: 'lexicon',
        BUS_ACK_WAIT_S: '4',
        LOG_LEVEL: 'warn',
      }
      // Ingest first: it prepares the store's schema and the bus's stream before the workers come.
      const ingest = startMain({
        ...common,
        ROLES: 'ingest',
        SOURCES: 'webhook',
        INGEST_TOKEN: TOKEN,
        DATA_DIR: `${dir.path}/ingest`,
      })
      children.push(ingest)
      const ingestUrl = await ingest.url
      const workers = [0, 1, 2].map((i) =>
        startMain({ ...common, ROLES: 'worker', DATA_DIR: `${dir.path}/worker-${i}` }),
      )
      children.push(...workers)
      await Promise.all(workers.map((w) => w.url))
      // An ingest process serves no API: only the probes, /metrics and the webhook.
      expect((await fetch(`${ingestUrl}/api/posts`)).status).toBe(404)
      expect((await fetch(`${ingestUrl}/readyz`)).status).toBe(200)

      const store = clickhouse.store('bus')
      const stored = async () => Number((await store.select<{ n: string }>('SELECT count() AS n FROM posts'))[0]!.n)
      send = sendTo(ingestUrl)
      // The first third, then a worker dies while the rest flows.
      for (let i = 0; i < POSTS / 3; i += PER_REQUEST) await send(i)
      await expect.poll(stored, { timeout: 30_000, interval: 100 }).toBeGreaterThan(0)
      const sending = (async () => {
        for (let i = POSTS / 3; i < POSTS; i += PER_REQUEST) {
          await send(i)
          await new Promise((r) => setTimeout(r, 50))
        }
      })()
      await new Promise((r) => setTimeout(r, 300))
      workers[0]!.child.kill('SIGKILL')
      await exited(workers[0]!.child)
      await sending

      await expect.poll(stored, { timeout: 60_000, interval: 500 }).toBe(POSTS)
      // Let any late redelivery land before counting again: nothing more may come.
      const nc = await connect({ servers: nats.url() })
      const jsm = await jetstreamManager(nc)
      await expect
        .poll(async () => (await jsm.consumers.info(BUS_STREAM, BUS_CONSUMER)).num_ack_pending, {
          timeout: 30_000,
          interval: 250,
        })
        .toBe(0)
      const info = await jsm.consumers.info(BUS_STREAM, BUS_CONSUMER)
      await nc.close()
      expect(info.num_pending).toBe(0)

      const [counts] = await store.select<{ rows: string; ids: string }>(
        'SELECT count() AS rows, uniqExact(id) AS ids FROM posts',
      )
      expect(counts).toEqual({ rows: String(POSTS), ids: String(POSTS) })
      // Each post counted once in the minute aggregates (a post stored twice would count twice).
      const [minutes] = await store.select<{ posts: string }>(
        "SELECT sum(posts) AS posts FROM brand_source_minute WHERE brand = 'Lumen'",
      )
      expect(minutes!.posts).toBe(String(POSTS))
      // The survivors say what they did: both stored posts, and between them they were handed the
      // messages the killed worker held unacknowledged.
      const health = await Promise.all(
        workers.slice(1).map(
          async (w) =>
            (await (await fetch(`${await w.url}/healthz`)).json()) as {
              pipeline: { stored: number; pulled: { redelivered: number } }
            },
        ),
      )
      for (const h of health) expect(h.pipeline.stored).toBeGreaterThan(0)
      expect(health.reduce((n, h) => n + h.pipeline.pulled.redelivered, 0)).toBeGreaterThan(0)
      // And tell Prometheus: what they pulled, what they hold now (nothing), how long events waited.
      const metrics = await (await fetch(`${await workers[1]!.url}/metrics`)).text()
      expect(metrics).toMatch(/^undertow_bus_messages_total\{part="pulled",outcome="received"\} [1-9]/m)
      expect(metrics).toMatch(/^undertow_queue_depth\{queue="bus_unacknowledged"\} 0$/m)
      expect(metrics).toMatch(/^undertow_bus_wait_seconds_count\{hop="to_worker"\} [1-9]/m)
      expect(metrics).not.toMatch(/outcome="waiting"/)
      survivors = workers.slice(1)
    }, 180_000)

    it('acknowledges nothing the store has not taken: through a ClickHouse crash, every post is stored once, none dead-lettered', async () => {
      const store = clickhouse.store('bus')
      const stored = async () =>
        Number((await store.select<{ n: string }>('SELECT count() AS n FROM posts')).at(0)?.n ?? -1)
      const more = 3_000
      const sending = (async () => {
        for (let i = POSTS; i < POSTS + more; i += PER_REQUEST) {
          await send(i)
          await new Promise((r) => setTimeout(r, 100))
        }
      })()
      await new Promise((r) => setTimeout(r, 300))
      await clickhouse.process().kill9()
      await sending
      await new Promise((r) => setTimeout(r, 3_000))
      await clickhouse.process().start()
      await expect.poll(() => stored().catch(() => -1), { timeout: 90_000, interval: 500 }).toBe(POSTS + more)
      const [counts] = await store.select<{ rows: string; ids: string }>(
        'SELECT count() AS rows, uniqExact(id) AS ids FROM posts',
      )
      expect(counts).toEqual({ rows: String(POSTS + more), ids: String(POSTS + more) })
      type Health = {
        pipeline: { givenBack: number; deadLetter: Record<string, number> }
        store: { recounts: { runs: number; pending: boolean } }
      }
      const healths = () =>
        Promise.all(survivors.map(async (w) => (await (await fetch(`${await w.url}/healthz`)).json()) as Health))
      // The workers recount the minutes of the writes that failed, one at a time (a write may have
      // stored its posts and not their minute counts), and then each post is counted once.
      // Under a loaded CI a take is often unclean (another worker still writing) and put off 10 s.
      // The recounters' figures are polled whole, so that a timeout says what they were doing.
      const recounts = async () => (await healths()).map((h) => h.store.recounts)
      await expect
        .poll(recounts, { timeout: 120_000, interval: 500 })
        .toEqual([expect.objectContaining({ pending: false }), expect.objectContaining({ pending: false })])
      const health = await healths()
      const [minutes] = await store.select<{ posts: string }>(
        "SELECT sum(posts) AS posts FROM brand_source_minute WHERE brand = 'Lumen'",
      )
      expect(minutes!.posts).toBe(String(POSTS + more))
      // The workers handed events back to the bus while the store was down, and refused none.
      expect(health.reduce((n, h) => n + h.pipeline.givenBack, 0)).toBeGreaterThan(0)
      for (const h of health) expect(h.pipeline.deadLetter).toEqual({})
    }, 240_000)
  })
})
