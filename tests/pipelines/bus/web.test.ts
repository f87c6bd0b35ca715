// Two web processes behind one live process, the way a deployment runs them: nats-server,
// redis-server and clickhouse-server started here, then ingest (the simulator), a worker, the live
// process and two web processes, each its own process. A wall on each web process sees the same
// live deltas, in the same order; an acknowledgement asked of a web process is answered by the
// live one.
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, expect, it } from 'vitest'
import { EVENTS } from '../../../pipelines/schema.ts'
import { describeWithServer, useClickHouseServer } from '../../support/clickhouse-server.ts'
import { exited, startMain } from '../../support/main-process.ts'
import { describeWithNats, useNatsServer } from '../../support/nats-server.ts'
import { describeWithRedis, useRedisServer } from '../../support/redis-server.ts'
import { tmpDir } from '../../support/tmp.ts'

/** Every push a wall gets but the clock (each web process ticks its own), as text, in order. */
async function wall(url: string) {
  const socket: Socket = connect(url, { transports: ['websocket'], reconnection: false })
  const seen: string[] = []
  socket.onAny((event: string, payload: unknown) => {
    if (event !== EVENTS.clock && event !== EVENTS.snapshot) seen.push(`${event} ${JSON.stringify(payload)}`)
  })
  await new Promise((ok) => socket.once(EVENTS.snapshot, ok))
  return { socket, seen }
}

describeWithNats('bus: two web processes', () => {
  describeWithRedis('with Redis', () => {
    describeWithServer('with a ClickHouse server', () => {
      const nats = useNatsServer('web')
      const redis = useRedisServer()
      const clickhouse = useClickHouseServer('web')
      const dir = tmpDir('bus-web')
      const children: ReturnType<typeof startMain>[] = []
      afterAll(async () => {
        for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL')
        await Promise.all(children.map((c) => exited(c.child)))
        dir.remove()
      })

      it('show a wall on each the same live deltas, pass acknowledgements to the live process, and go on when it is killed and started again', async () => {
        const common = {
          BUS_URL: nats.url(),
          REDIS_URL: redis.url(),
          CLICKHOUSE_URL: clickhouse.process().url,
          CLICKHOUSE_DATABASE: 'web',
          SENTIMENT_MODEL: 'lexicon',
          SIM_SPEED: '300',
          LOG_LEVEL: 'warn',
        }
        const start = (roles: string, name: string) => {
          const child = startMain({ ...common, ROLES: roles, DATA_DIR: `${dir.path}/${name}` })
          children.push(child)
          return child.url
        }
        // The store's schema and the bus's streams first, then the rest.
        await start('live', 'live')
        const firstLive = children.at(-1)!
        const [webA, webB] = await Promise.all([
          start('web', 'web-a'),
          start('web', 'web-b'),
          start('worker', 'worker'),
        ])
        const [a, b] = await Promise.all([wall(webA!), wall(webB!)])
        await start('ingest', 'ingest')
        const kinds = (w: { seen: string[] }) => new Set(w.seen.map((e) => e.slice(0, e.indexOf(' '))))
        const wanted = [EVENTS.aggregatesUpdated, EVENTS.metricsUpdated, EVENTS.postsAdded, EVENTS.riskUpdated]
        await expect
          .poll(() => wanted.every((k) => kinds(a).has(k) && kinds(b).has(k)), { timeout: 60_000, interval: 200 })
          .toBe(true)
        // The simulated backlash raises an alert; acknowledged through one web process, the live
        // process (which holds it) pushes the change to the walls on both.
        const raised = async () => a.seen.find((e) => e.startsWith(`${EVENTS.alertRaised} `))
        await expect.poll(raised, { timeout: 60_000, interval: 200 }).toBeDefined()
        const alert = JSON.parse((await raised())!.slice(EVENTS.alertRaised.length + 1)) as { id: string }
        const acknowledged = await fetch(`${webB}/api/alerts/${encodeURIComponent(alert.id)}/acknowledge`, {
          method: 'POST',
        })
        expect(acknowledged.status, await acknowledged.clone().text()).toBe(200)
        expect(((await acknowledged.json()) as { alert: { state: string } }).alert.state).toBe('acknowledged')
        for (const w of [a, b])
          await expect
            .poll(
              () => w.seen.some((e) => e.startsWith(`${EVENTS.alertUpdated} `) && e.includes('"state":"acknowledged"')),
              { timeout: 10_000 },
            )
            .toBe(true)

        // The live process killed and started again: it takes the records up from where the
        // workers are (the store holds the rest), passes nothing over, and the walls go on.
        firstLive.child.kill('SIGKILL')
        await exited(firstLive.child)
        const liveAgain = await start('live', 'live-2')
        const seenBefore = a.seen.length
        await expect
          .poll(() => a.seen.slice(seenBefore).some((e) => e.startsWith(`${EVENTS.metricsUpdated} `)), {
            timeout: 30_000,
            interval: 200,
          })
          .toBe(true)
        const order = async () =>
          (
            (await (await fetch(`${liveAgain}/healthz`)).json()) as {
              pipeline: { order: { released: number; skipped: number } }
            }
          ).pipeline.order
        await expect.poll(async () => (await order()).released, { timeout: 30_000, interval: 200 }).toBeGreaterThan(50)
        expect((await order()).skipped).toBe(0)
        const metrics = await (await fetch(`${liveAgain}/metrics`)).text()
        expect(metrics).toMatch(/^undertow_bus_wait_seconds_count\{hop="to_live"\} [1-9]/m)
        expect(metrics).toMatch(/^undertow_bus_messages_total\{part="order",outcome="released"\} [1-9]/m)
        a.socket.close()
        b.socket.close()
        // The same pushes in the same order (one wall may have been closed a push or two before the other).
        const shared = Math.min(a.seen.length, b.seen.length)
        expect(a.seen.slice(0, shared)).toEqual(b.seen.slice(0, shared))

        // Not open anywhere: the live process says so (404); without it, the web process could only answer 503.
        const response = await fetch(`${webB}/api/alerts/Lumen%3Anone/acknowledge`, { method: 'POST' })
        expect(response.status, await response.clone().text()).toBe(404)
        // A web process serves no pipeline of its own: what it shows came from the live one.
        const health = (await (await fetch(`${webA}/healthz`)).json()) as { pipeline: Record<string, unknown> }
        expect(health.pipeline.stored).toBeUndefined()
      }, 180_000)
    })
  })
})
