// A socket.io client on loopback: snapshot first, then live deltas, and after the run the latest
// value of every window it saw equals what the store holds.
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { startPipeline } from '../../pipelines/pipeline.ts'
import type {
  ClientToServerEvents,
  Clock,
  ScoredPost,
  ServerToClientEvents,
  Snapshot,
  WindowAggregate,
} from '../../pipelines/schema.ts'
import { SocketIoSink } from '../../pipelines/sinks/socketio.ts'
import { simulatorSource } from '../../pipelines/sources/simulator.ts'
import { SNAPSHOT_MINUTES } from '../../server/snapshot.ts'
import { byMinute, MemoryDeadLetter, postsOf, scenario, SEED, simulated, tracking } from '../support/fixtures.ts'
import { testApp } from '../support/server.ts'

let t: Awaited<ReturnType<typeof testApp>>
let url: string
const sockets: Socket[] = []

beforeAll(async () => {
  t = await testApp()
  url = await t.app.listen({ port: 0, host: '127.0.0.1' })
})
afterAll(async () => {
  sockets.forEach((s) => s.close())
  await t.close()
})

function wall() {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(url, {
    transports: ['websocket'],
    reconnection: false,
  })
  sockets.push(socket)
  const seen = {
    snapshots: [] as Snapshot[],
    order: [] as string[],
    windows: new Map<string, WindowAggregate>(),
    posts: 0,
  }
  socket.on('snapshot.v1', (s) => {
    seen.snapshots.push(s)
    seen.order.push('snapshot')
    for (const w of s.aggregates) seen.windows.set(`${w.brand}|${w.minute}`, w)
  })
  socket.on('aggregates.updated.v1', (windows) => {
    seen.order.push('delta')
    for (const w of windows) seen.windows.set(`${w.brand}|${w.minute}`, w)
  })
  socket.on('posts.added.v1', (posts) => (seen.posts += posts.length))
  const ready = new Promise<void>((resolve, reject) => {
    socket.once('snapshot.v1', () => resolve())
    socket.once('connect_error', reject)
  })
  return { socket, seen, ready }
}

describe('socket.io live wall feed', () => {
  // 90 simulated minutes at 1,200x: about 4.5 s of real time, so deltas arrive while walls watch,
  // and the history outgrows the snapshot's 60 minutes.
  const UNTIL = 90 * 60

  it('sends a snapshot on connect, then deltas; walls that join early or mid-stream end equal to the store', async () => {
    const early = wall()
    await early.ready
    expect(early.seen.snapshots[0]).toMatchObject({
      aggregates: [],
      recentPosts: [],
      brands: tracking,
      watermark: null,
    })

    const pipeline = startPipeline({
      sources: [simulatorSource({ scenario, seed: SEED, speed: 1_200, until: UNTIL })],
      classifier: new LexiconClassifier(),
      tracking,
      store: t.store,
      live: new SocketIoSink(t.app.io, t.view),
      deadLetter: new MemoryDeadLetter(),
    })
    await expect
      .poll(() => early.seen.order.filter((e) => e === 'delta').length, { timeout: 10_000 })
      .toBeGreaterThan(2)
    const middle = wall()
    await middle.ready
    expect(middle.seen.snapshots[0]!.aggregates.length).toBeGreaterThan(0)
    await pipeline.done

    const stored = await t.store.minuteAggregates({})
    await expect.poll(() => byMinute(early.seen.windows.values()), { timeout: 5_000 }).toEqual(stored)
    // The mid-stream wall saw only the snapshot's last 60 minutes and the deltas after it.
    const recent = await t.store.minuteAggregates({ lastMinutes: SNAPSHOT_MINUTES })
    await expect
      .poll(
        () => byMinute([...middle.seen.windows.values()].filter((w) => recent.some((r) => r.minute === w.minute))),
        { timeout: 5_000 },
      )
      .toEqual(recent)
    expect(early.seen.order.filter((e) => e === 'delta').length).toBeGreaterThan(5)
    // Every post reached the wall, or was counted as left out of its feed (past LIVE_POSTS_PER_BRAND a push).
    expect(early.seen.posts + pipeline.stats.liveSkipped).toBe(postsOf(simulated(UNTIL)).length)
    expect(early.seen.posts).toBeGreaterThan(0)
  })

  it('gives a wall that connects later a snapshot of the last 60 minutes and the latest posts', async () => {
    const late = wall()
    await late.ready
    const snapshot = late.seen.snapshots[0]!
    const all = await t.store.minuteAggregates({})
    expect(new Set(all.map((w) => w.minute)).size).toBeGreaterThan(SNAPSHOT_MINUTES)
    expect(byMinute(snapshot.aggregates)).toEqual(await t.store.minuteAggregates({ lastMinutes: SNAPSHOT_MINUTES }))
    expect(new Set(snapshot.aggregates.map((w) => w.minute)).size).toBe(SNAPSHOT_MINUTES)
    expect(snapshot.recentPosts.length).toBe(50)
    expect(snapshot.watermark).toBe(snapshot.recentPosts[0]!.createdAt)
    expect(snapshot.recentPosts.every((p) => p.createdAt <= snapshot.watermark!)).toBe(true)
  })

  it('gives the wall live metrics, risk and responsiveness, and a team only its routed posts', async () => {
    const plain = wall()
    const support = connect(url, {
      transports: ['websocket'],
      reconnection: false,
      query: { team: 'support' },
    }) as Socket<ServerToClientEvents, ClientToServerEvents>
    sockets.push(support)
    // Listened for at once: with reads served side by side, its snapshot can come before the other wall's.
    const supportReady = new Promise<void>((resolve) => support.once('snapshot.v1', () => resolve()))
    await plain.ready
    const got = { metrics: 0, risk: 0, responsiveness: 0, plainTeam: 0, supportPosts: [] as ScoredPost[] }
    plain.socket.on('metrics.updated.v1', (m) => (got.metrics += m.length))
    plain.socket.on('risk.updated.v1', (r) => (got.risk += r.length))
    plain.socket.on('responsiveness.updated.v1', (r) => (got.responsiveness += r.length))
    plain.socket.on('team.posts.v1', () => got.plainTeam++)
    support.on('team.posts.v1', (feed) => {
      expect(feed.team).toBe('support')
      got.supportPosts.push(...feed.posts)
    })
    await supportReady
    const pipeline = startPipeline({
      sources: [
        simulatorSource({
          scenario: { ...scenario, start: '2026-11-25T09:00:00.000Z' },
          seed: SEED + 1,
          speed: 1_200,
          until: 20 * 60,
        }),
      ],
      classifier: new LexiconClassifier(),
      tracking,
      store: t.store,
      live: new SocketIoSink(t.app.io, t.view),
      deadLetter: new MemoryDeadLetter(),
    })
    await pipeline.done
    await expect.poll(() => got.risk, { timeout: 5_000 }).toBeGreaterThan(0)
    expect(got.metrics).toBeGreaterThan(0)
    expect(got.responsiveness).toBeGreaterThan(0)
    expect(got.plainTeam).toBe(0)
    expect(got.supportPosts.length).toBeGreaterThan(0)
    for (const p of got.supportPosts)
      expect(p.sentiment!.intents.some((i) => ['question', 'complaint', 'support'].includes(i))).toBe(true)
    // A wall that connects now gets the current figures in its snapshot.
    const late = wall()
    await late.ready
    const snapshot = late.seen.snapshots[0]!
    expect(snapshot.metrics.length).toBeGreaterThan(0)
    expect(snapshot.risk.map((r) => r.brand).sort()).toEqual(['Corvid', 'Lumen', 'Nimbus'])
    expect(snapshot.responsiveness.map((r) => r.brand).sort()).toEqual(['Corvid', 'Lumen', 'Nimbus'])
  })

  it('ticks a clock with the event-time watermark every second', async () => {
    const w = wall()
    await w.ready
    const clock = await new Promise<Clock>((resolve) => w.socket.once('clock.v1', resolve))
    expect(clock.watermark).toBe(t.view.watermark())
  })

  it("refuses a connection from another site's page, and takes its own and tools'", async () => {
    const attempt = (extraHeaders: Record<string, string>) =>
      new Promise<string>((resolve) => {
        const s = connect(url, { transports: ['websocket'], reconnection: false, extraHeaders })
        s.once('snapshot.v1', () => (s.close(), resolve('connected')))
        s.once('connect_error', (error) => (s.close(), resolve(`refused: ${error.message}`)))
      })
    expect(await attempt({ origin: 'https://evil.example' })).toMatch(/^refused/)
    expect(await attempt({ origin: 'not a url' })).toMatch(/^refused/)
    expect(await attempt({ origin: url })).toBe('connected')
    expect(await attempt({})).toBe('connected')
  })

  it('closes promptly while walls are connected', async () => {
    const w = wall()
    await w.ready
    const started = Date.now()
    await t.app.close()
    expect(Date.now() - started).toBeLessThan(2_000)
    await expect.poll(() => w.socket.connected).toBe(false)
  })
})
