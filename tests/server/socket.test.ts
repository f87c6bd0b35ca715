// A socket.io client on loopback: snapshot first, then live deltas, and after the run the latest
// value of every window it saw equals what the store holds.
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { startPipeline } from '../../pipelines/pipeline.ts'
import type { ClientToServerEvents, ServerToClientEvents, Snapshot, WindowAggregate } from '../../pipelines/schema.ts'
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
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(url, { transports: ['websocket'], reconnection: false })
  sockets.push(socket)
  const seen = { snapshots: [] as Snapshot[], order: [] as string[], windows: new Map<string, WindowAggregate>(), posts: 0 }
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
  const UNTIL = 40 * 60

  it('sends a snapshot on connect, then deltas that match the store', async () => {
    const early = wall()
    await early.ready
    expect(early.seen.snapshots[0]).toMatchObject({ aggregates: [], recentPosts: [], brands: tracking })

    const pipeline = startPipeline({
      sources: [simulatorSource({ scenario, seed: SEED, speed: Infinity, until: UNTIL })],
      classifier: new LexiconClassifier(),
      tracking,
      store: t.store,
      live: new SocketIoSink(t.app.io, t.view),
      deadLetter: new MemoryDeadLetter(),
    })
    await pipeline.done
    const stored = await t.store.minuteAggregates({})
    await expect.poll(() => byMinute(early.seen.windows.values()), { timeout: 5_000 }).toEqual(stored)
    expect(early.seen.order[0]).toBe('snapshot')
    expect(early.seen.order.filter((e) => e === 'delta').length).toBeGreaterThan(1)
    expect(early.seen.posts).toBe(postsOf(simulated(UNTIL)).length)
  })

  it('gives a wall that connects later a snapshot of the recent history and posts', async () => {
    const late = wall()
    await late.ready
    const snapshot = late.seen.snapshots[0]!
    expect(byMinute(snapshot.aggregates)).toEqual(await t.store.minuteAggregates({ lastMinutes: SNAPSHOT_MINUTES }))
    expect(snapshot.aggregates.length).toBeGreaterThan(0)
    expect(snapshot.recentPosts.length).toBe(50)
    const newest = snapshot.recentPosts[0]!.createdAt
    expect(snapshot.recentPosts.every((p) => p.createdAt <= newest)).toBe(true)
  })
})
