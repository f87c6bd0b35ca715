// Alerts over HTTP, with a real pipeline behind the server as in server/main.ts: the backlash of the
// simulated launch day raises an alert; acknowledging it goes out live on a real socket and into the
// store through the pipeline's alerts sink, like any change of an alert.
import { concat, NEVER } from 'rxjs'
import { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { type Pipeline, startPipeline } from '../../pipelines/pipeline.ts'
import type { Alert, ClientToServerEvents, ServerToClientEvents } from '../../pipelines/schema.ts'
import { SocketIoSink } from '../../pipelines/sinks/socketio.ts'
import { buildServer } from '../../server/app.ts'
import { MemoryDeadLetter, RecordingLive, simulated, sourceOf, tracking } from '../support/fixtures.ts'
import { testApp } from '../support/server.ts'

let t: Awaited<ReturnType<typeof testApp>>
let pipeline: Pipeline
let socket: Socket<ServerToClientEvents, ClientToServerEvents>
const pushed: { event: string; alert: Alert }[] = []

beforeAll(async () => {
  // Built before the pipeline, as in server/main.ts: the acknowledgement is bound late.
  t = await testApp({ alerts: { acknowledge: (id) => pipeline.acknowledge(id) } })
  const url = await t.app.listen({ port: 0, host: '127.0.0.1' })
  socket = connect(url, { transports: ['websocket'], reconnection: false })
  socket.on('alert.raised.v1', (alert) => pushed.push({ event: 'alert.raised.v1', alert }))
  socket.on('alert.updated.v1', (alert) => pushed.push({ event: 'alert.updated.v1', alert }))
  await new Promise<void>((resolve, reject) => {
    socket.once('snapshot.v1', () => resolve())
    socket.once('connect_error', reject)
  })
  // Into the backlash (raised at 09:46), then the source stays open: the pipeline keeps running.
  pipeline = startPipeline({
    sources: [concat(sourceOf(simulated(50 * 60)), NEVER)],
    classifier: new LexiconClassifier(),
    tracking,
    store: t.store,
    live: new SocketIoSink(t.app.io, t.view),
    deadLetter: new MemoryDeadLetter(),
  })
})
afterAll(async () => {
  socket.close()
  await pipeline.stop()
  await t.close()
})

const acknowledge = (id: string) =>
  t.app.inject({ method: 'POST', url: `/api/alerts/${encodeURIComponent(id)}/acknowledge` })

describe('alerts over HTTP', () => {
  it('acknowledges an open alert: pushed live, stored, and said clearly when it cannot be', async () => {
    await expect.poll(() => pushed.length, { timeout: 20_000 }).toBeGreaterThan(0)
    const raised = pushed[0]!
    expect(raised).toMatchObject({ event: 'alert.raised.v1', alert: { brand: 'Lumen', state: 'open' } })
    const { id } = raised.alert
    const alertsBefore = pipeline.stats.alerts

    const res = await acknowledge(id)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ alert: { ...raised.alert, state: 'acknowledged' } })
    expect(pipeline.stats.alerts).toBe(alertsBefore + 1)
    await expect.poll(() => pushed.length).toBe(2)
    expect(pushed[1]).toEqual({ event: 'alert.updated.v1', alert: { ...raised.alert, state: 'acknowledged' } })
    // Stored through the alerts sink: the store's newest state of it is acknowledged.
    await expect.poll(async () => (await t.store.alerts({ id }))[0]?.state, { timeout: 10_000 }).toBe('acknowledged')
    const listed = await t.app.inject('/api/alerts?brand=Lumen&state=acknowledged')
    expect(listed.statusCode).toBe(200)
    expect(listed.json()).toEqual({ alerts: [{ ...raised.alert, state: 'acknowledged' }] })
    expect((await t.app.inject('/api/alerts?state=open')).json()).toEqual({ alerts: [] })
    // A new wall's snapshot has it acknowledged too.
    expect(t.view.recentAlerts().find((a) => a.id === id)?.state).toBe('acknowledged')

    const again = await acknowledge(id)
    expect(again.statusCode).toBe(409)
    expect(again.json()).toEqual({
      error: {
        code: 'conflict',
        message: `alert ${JSON.stringify(id)} is not open, so it cannot be acknowledged: it is acknowledged already`,
      },
    })
    const unknown = await acknowledge('Lumen:2020-01-01T00:00:00.000Z')
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().error.message).toBe(
      'alert "Lumen:2020-01-01T00:00:00.000Z" is not open, so it cannot be acknowledged: no alert has this id',
    )
    expect(pushed).toHaveLength(2)
  })

  it('says when the alert is resolved already', async () => {
    const resolved: Alert = {
      id: 'Corvid:2026-11-23T08:00:00.000Z',
      brand: 'Corvid',
      at: '2026-11-23T08:01:00.000Z',
      severity: 'warning',
      state: 'resolved',
      title: 'Possible backlash: risk 45 for Corvid',
      why: { summary: '', terms: [], examplePostIds: [] },
    }
    await t.store.insertAlerts([{ ...resolved, state: 'open' }, resolved])
    const res = await acknowledge(resolved.id)
    expect(res.statusCode).toBe(409)
    expect(res.json().error.message).toBe(
      `alert "${resolved.id}" is not open, so it cannot be acknowledged: it is resolved already`,
    )
  })

  it('refuses an acknowledgement from another site', async () => {
    for (const origin of ['https://evil.example', 'null', 'not a url', 'http://localhost:3001']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/alerts/Lumen%3Ax/acknowledge',
        headers: { origin, host: 'localhost:3000' },
      })
      expect(res.statusCode, origin).toBe(403)
      expect(res.json().error.message).toMatch(/is refused: acknowledge from Undertow's own pages/)
    }
    // Its own pages name its own origin: that one is let through (to a 404 here: no such alert).
    const own = await t.app.inject({
      method: 'POST',
      url: '/api/alerts/Lumen%3Ax/acknowledge',
      headers: { origin: 'http://LOCALHOST:3000', host: 'localhost:3000' },
    })
    expect(own.statusCode).toBe(404)
  })

  it('lists stored alerts newest first, by brand, range and state, and refuses a bad query', async () => {
    const all = (await t.app.inject('/api/alerts')).json().alerts as Alert[]
    expect(all.map((a) => a.brand)).toEqual(['Lumen', 'Corvid'])
    expect((await t.app.inject('/api/alerts?state=resolved')).json().alerts.map((a: Alert) => a.brand)).toEqual([
      'Corvid',
    ])
    expect((await t.app.inject('/api/alerts?brand=Corvid&limit=1')).json().alerts).toHaveLength(1)
    expect(
      (await t.app.inject('/api/alerts?from=2026-11-23T09:00:00Z')).json().alerts.map((a: Alert) => a.brand),
    ).toEqual(['Lumen'])
    for (const query of ['state=closed', 'limit=0', 'limit=1001', 'from=yesterday']) {
      const res = await t.app.inject(`/api/alerts?${query}`)
      expect(res.statusCode, query).toBe(400)
      expect(res.json().error.code).toBe('bad_request')
    }
    expect((await t.app.inject('/api/alerts?state=closed')).json().error.message).toContain('state')
  })
})

describe('alerts without a pipeline', () => {
  it('answers 503, saying why, when nothing can acknowledge', async () => {
    // The same store (one embedded store a process), no `alerts`.
    const bare = await buildServer({
      store: t.store,
      view: new LiveView(),
      tracking,
      health: { classifier: 'vader-lexicon', sources: [], stats: () => ({}) },
    })
    try {
      const res = await bare.inject({ method: 'POST', url: '/api/alerts/Lumen:x/acknowledge' })
      expect(res.statusCode).toBe(503)
      expect(res.json()).toEqual({
        error: { code: 'unavailable', message: 'this server runs without a pipeline, so it cannot acknowledge alerts' },
      })
    } finally {
      await bare.close()
    }
  })

  it('acknowledges nothing once the pipeline has stopped', async () => {
    const stopped = startPipeline({
      sources: [sourceOf(simulated(60))],
      classifier: new LexiconClassifier(),
      tracking,
      store: t.store,
      live: new RecordingLive(),
      deadLetter: new MemoryDeadLetter(),
    })
    await stopped.done
    expect(stopped.acknowledge('Lumen:2026-11-23T09:45:00.000Z')).toBeNull()
  })
})
