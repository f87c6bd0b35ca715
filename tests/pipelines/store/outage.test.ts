// Server mode through a ClickHouse crash: 100,000 simulated posts stream through the real pipeline
// into a real clickhouse-server; mid-stream the server is killed with SIGKILL and restarted some
// seconds later. Afterwards every post is stored exactly once (count and ids against what was
// sent) and counted once in the minute tables, and the walls' socket.io feed never stopped: the
// sink spooled to disk meanwhile.
import { interval, map, mergeMap, take } from 'rxjs'
import { LiveView } from '../../../pipelines/sinks/live-memory.ts'
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { LexiconClassifier } from '../../../models/lexicon.ts'
import { startPipeline } from '../../../pipelines/pipeline.ts'
import type {
  ClientToServerEvents,
  Post,
  ServerToClientEvents,
  SourceEvent,
  AttributedEngagement,
} from '../../../pipelines/schema.ts'
import { SocketIoSink } from '../../../pipelines/sinks/socketio.ts'
import { Spool } from '../../../pipelines/sinks/spool.ts'
import { generate } from '../../../pipelines/sources/simulator/generate.ts'
import { compileTracking, matchOne } from '../../../pipelines/transforms/match.ts'
import { buildServer } from '../../../server/app.ts'
import { MemoryDeadLetter, scenario, SEED, tracking } from '../../support/fixtures.ts'
import { ClickHouseServerProcess, describeWithServer } from '../../support/clickhouse-server.ts'
import { tmpDir } from '../../support/tmp.ts'
import { ServerStore } from '../../../pipelines/store/server.ts'
import type { Alert, ScoredPost } from '../../../pipelines/schema.ts'
import { join } from 'node:path'

const POSTS = 100_000
const PER_TICK = 250
const TICK_MS = 50 // 5,000 posts/s: about 20 s of stream
const KILL_AFTER_MS = 5_000
const DOWN_FOR_MS = 4_000

describeWithServer('server mode through a ClickHouse crash', () => {
  const dir = tmpDir('outage')
  let server: ClickHouseServerProcess
  let store: ServerStore
  let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined
  let app: Awaited<ReturnType<typeof buildServer>>

  beforeAll(async () => {
    server = await ClickHouseServerProcess.started(join(dir.path, 'clickhouse'))
    store = new ServerStore({ url: server.url, database: 'outage', requestTimeoutMs: 2_000 })
    await store.migrate()
  }, 60_000)
  afterAll(async () => {
    socket?.close()
    await app?.close()
    await store?.close()
    await server?.stop()
    dir.remove()
  })

  it('stores every post exactly once and never stops the live feed', async () => {
    const sent: Post[] = []
    const threadReplies = new Set<string>()
    for (const e of generate(scenario, SEED)) {
      if (e.event.kind !== 'post') continue
      sent.push(e.event.post)
      if (e.truth?.stream === 'thread') threadReplies.add(e.event.post.id)
      if (sent.length === POSTS) break
    }
    const matchers = compileTracking(tracking)
    const matched = sent.flatMap((p) => matchOne(p, matchers) ?? [])
    // Tracked: what names a brand, and the replies under the brand's own posts.
    const tracked = new Set([...matched.map((p) => p.id), ...threadReplies])

    const view = new LiveView()
    app = await buildServer({
      store,
      view,
      tracking,
      health: { classifier: 'vader-lexicon', sources: ['test'], stats: () => ({}) },
    })
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    socket = connect(url, { transports: ['websocket'] })
    const live: { at: number; ids: string[] }[] = []
    socket.on('posts.added.v1', (posts) => live.push({ at: Date.now(), ids: posts.map((p) => p.id) }))
    await new Promise<void>((resolve) => socket!.once('snapshot.v1', () => resolve()))

    const source = interval(TICK_MS).pipe(
      take(POSTS / PER_TICK),
      mergeMap((tick) => sent.slice(tick * PER_TICK, (tick + 1) * PER_TICK)),
      map((post): SourceEvent => ({ kind: 'post', post })),
    )
    const deadLetter = new MemoryDeadLetter()
    const spools = {
      posts: new Spool<ScoredPost>(join(dir.path, 'spool', 'posts'), 1 << 30),
      engagement: new Spool<AttributedEngagement>(join(dir.path, 'spool', 'engagement'), 1 << 30),
      alerts: new Spool<Alert>(join(dir.path, 'spool', 'alerts'), 1 << 30),
    }
    const started = Date.now()
    const pipeline = startPipeline({
      sources: [source],
      classifier: new LexiconClassifier(),
      tracking,
      store,
      live: new SocketIoSink(app.io, view),
      deadLetter,
      spools,
    })

    await new Promise((r) => setTimeout(r, KILL_AFTER_MS))
    await server.kill9()
    const killedAt = Date.now()
    const storedBeforeKill = pipeline.stats.stored
    await new Promise((r) => setTimeout(r, DOWN_FOR_MS))
    const spooledWhileDown = spools.posts.pending()
    await server.start()
    const restartedAt = Date.now()
    await pipeline.done
    const ended = Date.now()

    // The outage happened mid-stream and the sink spooled through it.
    expect(storedBeforeKill).toBeGreaterThan(0)
    expect(storedBeforeKill).toBeLessThan(tracked.size)
    expect(spooledWhileDown).toBeGreaterThan(0)
    expect(spools.posts.pending()).toBe(0)
    expect(spools.alerts.pending()).toBe(0)
    expect(deadLetter.records).toEqual([])
    // Alerts raised through the outage are stored too, each in its latest state.
    const storedAlerts = new Map((await store.alerts({ limit: 1000 })).map((a) => [a.id, a.state]))
    expect(view.recentAlerts().length).toBeGreaterThan(0)
    for (const a of view.recentAlerts()) expect(storedAlerts.get(a.id), a.id).toBe(a.state)

    // Exactly once: every tracked post sent is stored, none twice, none that was not sent.
    expect(pipeline.stats.untracked + pipeline.stats.stored).toBe(POSTS)
    const [counts] = await store.select<{ rows: string; ids: string }>(
      'SELECT count() AS rows, uniqExact(id) AS ids FROM posts',
    )
    expect(Number(counts!.rows)).toBe(tracked.size)
    expect(Number(counts!.ids)).toBe(tracked.size)
    const storedIds = new Set((await store.select<{ id: string }>('SELECT id FROM posts')).map((r) => r.id))
    expect([...tracked].filter((id) => !storedIds.has(id))).toEqual([])
    expect(storedIds.size).toBe(tracked.size)
    // The materialized views counted each post once too: a mention per brand it names. (The writes
    // that failed were recounted, in the background: one that landed without its views' rows is
    // counted once that ends.)
    await expect.poll(() => store.recounter.pending, { timeout: 30_000 }).toBe(false)
    console.info(`[outage] recounts: ${JSON.stringify(store.recounts)}`)
    const windows = await store.minuteAggregates({})
    expect(windows.reduce((a, w) => a + w.posts, 0)).toBe(matched.reduce((a, p) => a + p.brands.length, 0))

    // The live feed: every post the wall was sent is stored, none twice; the stored posts it was
    // not sent (past LIVE_POSTS_PER_BRAND a push, as when the spool drains) are counted; and it
    // kept coming while the server was down.
    await expect
      .poll(() => live.reduce((a, l) => a + l.ids.length, 0) + pipeline.stats.liveSkipped, { timeout: 5_000 })
      .toBe(tracked.size)
    const pushed = live.flatMap((l) => l.ids)
    expect(new Set(pushed).size).toBe(pushed.length)
    expect(pushed.filter((id) => !storedIds.has(id))).toEqual([])
    const during = live.filter((l) => l.at > killedAt && l.at < restartedAt)
    expect(during.length).toBeGreaterThan(3)
    const times = live.filter((l) => l.at >= started && l.at <= ended).map((l) => l.at)
    const longestGap = Math.max(...times.slice(1).map((t, i) => t - times[i]!))
    expect(longestGap).toBeLessThan(2_000)
  }, 120_000)
})
