// The app killed with SIGKILL mid-stream and restarted: on the embedded store, and in server mode
// first while ClickHouse is down too, then again while it is up. What the app had accepted (shown
// on the wall) was stored or spooled to disk, so after each restart every post a wall saw is
// stored, and none twice.
import { join } from 'node:path'
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClientToServerEvents, ServerToClientEvents } from '../../../pipelines/schema.ts'
import { EmbeddedStore } from '../../../pipelines/store/embedded.ts'
import { ServerStore } from '../../../pipelines/store/server.ts'
import { ClickHouseServerProcess, describeWithServer } from '../../support/clickhouse-server.ts'
import { exited, startMain } from '../../support/main-process.ts'
import { tmpDir } from '../../support/tmp.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Connects a wall to `url` and adds the ids of the posts it is shown to `seen`. */
async function watch(url: string, seen: Set<string>) {
  const wall: Socket<ServerToClientEvents, ClientToServerEvents> = connect(url, {
    transports: ['websocket'],
    reconnection: false,
  })
  wall.on('posts.added.v1', (posts) => posts.forEach((p) => seen.add(p.id)))
  await new Promise<void>((ok) => wall.once('snapshot.v1', () => ok()))
  return wall
}

describe('embedded: the app killed mid-stream', () => {
  const dir = tmpDir('crash-embedded')
  afterAll(() => dir.remove())

  it('loses nothing it accepted and stores nothing twice', async () => {
    const env = { DATA_DIR: dir.path, SIM_SPEED: '900', SENTIMENT_MODEL: 'lexicon' }
    const seen = new Set<string>()
    const first = startMain(env)
    const wall = await watch(await first.url, seen)
    await sleep(2_500)
    first.child.kill('SIGKILL')
    await exited(first.child)
    wall.close()
    expect(seen.size).toBeGreaterThan(0)

    const second = startMain(env)
    const again = await watch(await second.url, seen)
    await sleep(1_500)
    second.child.kill('SIGTERM')
    expect(await exited(second.child)).toBe(0)
    again.close()

    const store = new EmbeddedStore(dir.path)
    try {
      const ids = new Set((await store.select<{ id: string }>('SELECT id FROM posts')).map((r) => r.id))
      expect([...seen].filter((id) => !ids.has(id))).toEqual([])
      const [counts] = await store.select<{ rows: string; ids: string }>(
        'SELECT count() AS rows, uniqExact(id) AS ids FROM posts',
      )
      expect(Number(counts!.rows)).toBe(Number(counts!.ids))
    } finally {
      await store.close()
    }
  }, 60_000)
})

describeWithServer('server mode: the app killed mid-stream', () => {
  const dir = tmpDir('crash')
  let server: ClickHouseServerProcess
  let store: ServerStore

  beforeAll(async () => {
    server = await ClickHouseServerProcess.started(join(dir.path, 'clickhouse'))
    store = new ServerStore({ url: server.url, database: 'crash' })
  }, 60_000)
  afterAll(async () => {
    await store?.close()
    await server?.stop()
    dir.remove()
  })

  it('loses nothing it accepted and stores nothing twice', async () => {
    const env = {
      DATA_DIR: join(dir.path, 'app'),
      CLICKHOUSE_URL: server.url,
      CLICKHOUSE_DATABASE: 'crash',
      SIM_SPEED: '900',
      SENTIMENT_MODEL: 'lexicon',
    }
    const first = startMain(env)
    const seen = new Set<string>()
    const wall = await watch(await first.url, seen)
    await sleep(3_000)
    const beforeOutage = seen.size
    await server.kill9()
    await sleep(3_000)
    const healthz = await fetch(`${await first.url}/healthz`)
    const health = (await healthz.json()) as {
      status: string
      store: { up: boolean }
      pipeline: { spool: { posts: { batches: number } } }
    }
    // Spooling through the outage, the process is alive (liveness: 200, not to be restarted) but not ready.
    expect(healthz.status).toBe(200)
    expect(health).toMatchObject({ status: 'degraded', store: { up: false } })
    const readyz = await fetch(`${await first.url}/readyz`)
    expect(readyz.status).toBe(503)
    expect(await readyz.json()).toMatchObject({
      ready: false,
      missing: expect.arrayContaining(['the store does not answer']),
    })
    first.child.kill('SIGKILL')
    await exited(first.child)
    wall.close()
    // Posts reached the wall before and during the outage; those of the outage were on disk only.
    expect(beforeOutage).toBeGreaterThan(0)
    expect(seen.size).toBeGreaterThan(beforeOutage)
    expect(health.pipeline.spool.posts.batches).toBeGreaterThan(0)

    await server.start()
    const second = startMain(env)
    const url = await second.url
    // The restarted app drains the spool its predecessor left.
    await expect
      .poll(
        async () => ((await (await fetch(`${url}/healthz`)).json()) as typeof health).pipeline.spool.posts.batches,
        { timeout: 20_000, interval: 250 },
      )
      .toBe(0)
    // Killed again mid-stream, the store up this time: what the wall saw was stored already.
    const secondWall = await watch(url, seen)
    const beforeSecondCrash = seen.size
    await sleep(2_000)
    expect(seen.size).toBeGreaterThan(beforeSecondCrash)
    second.child.kill('SIGKILL')
    await exited(second.child)
    secondWall.close()
    const third = startMain(env)
    await third.url
    await sleep(1_500)
    third.child.kill('SIGTERM')
    expect(await exited(third.child)).toBe(0)

    const ids = new Set((await store.select<{ id: string }>('SELECT id FROM posts')).map((r) => r.id))
    expect([...seen].filter((id) => !ids.has(id))).toEqual([])
    const [counts] = await store.select<{ rows: string; ids: string }>(
      'SELECT count() AS rows, uniqExact(id) AS ids FROM posts',
    )
    expect(Number(counts!.rows)).toBe(Number(counts!.ids))
    expect(Number(counts!.rows)).toBeGreaterThanOrEqual(seen.size)
  }, 120_000)
})
