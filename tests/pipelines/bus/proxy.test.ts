// The scale profile as deployed: a real nginx running the shipped deploy/nginx.conf in front of two
// web processes (with Redis, the bus, a worker, the live process and ingest, each its own process).
// Walls connect through it, over WebSocket and over long-polling, with a browser's Origin, get
// their snapshot and the live deltas from both web processes; an alert is acknowledged through it,
// and a foreign page's request is still refused.
import { request } from 'node:http'
import type { Browser } from 'playwright-core'
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { EVENTS } from '../../../pipelines/schema.ts'
import { hasChromium, launchBrowser } from '../../support/browser.ts'
import { describeWithServer, useClickHouseServer } from '../../support/clickhouse-server.ts'
import { exited, startMain } from '../../support/main-process.ts'
import { describeWithNats, useNatsServer } from '../../support/nats-server.ts'
import { describeWithNginx, type Nginx, startNginx } from '../../support/nginx.ts'
import { describeWithRedis, useRedisServer } from '../../support/redis-server.ts'
import { tmpDir } from '../../support/tmp.ts'

// nginx's ip_hash keeps a client by the first three bytes of its address: these two land on the
// first and the second web process.
const TO_WEB_A = '127.0.0.1'
const TO_WEB_B = '127.0.1.1'

/** A wall over WebSocket, from `from`, with the Origin a browser on `url` sends: every push but the clock. */
async function wall(url: string, from: string) {
  const socket: Socket = connect(url, {
    transports: ['websocket'],
    reconnection: false,
    localAddress: from,
    extraHeaders: { origin: url },
  } as never)
  const seen: string[] = []
  socket.onAny((event: string, payload: unknown) => {
    if (event !== EVENTS.clock) seen.push(`${event} ${JSON.stringify(payload)}`)
  })
  await new Promise((ok, fail) => {
    socket.once(EVENTS.snapshot, ok)
    socket.once('connect_error', fail)
  })
  return { socket, seen }
}

/** One HTTP exchange from `from` with a browser's Origin (Node's own XHR may not send one). */
function exchange(url: string, from: string, origin: string, body?: string) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const r = request(
      url,
      {
        method: body === undefined ? 'GET' : 'POST',
        localAddress: from,
        headers: { origin, 'content-type': 'text/plain;charset=UTF-8' },
      },
      (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (d: string) => (text += d))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }))
      },
    )
    r.on('error', reject)
    r.end(body)
  })
}

/** A wall over long-polling, spoken on the wire (engine.io 4): every request of the session must reach the same web process. */
async function pollingWall(base: string, from: string) {
  const at = (sid?: string) => `${base}/socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ''}`
  const open = await exchange(at(), from, base)
  if (open.status !== 200) throw new Error(`polling handshake: ${open.status} ${open.text}`)
  const { sid } = JSON.parse(open.text.slice(1)) as { sid: string }
  const joined = await exchange(at(sid), from, base, '40')
  if (joined.status !== 200) throw new Error(`polling connect: ${joined.status} ${joined.text}`)
  const seen: string[] = []
  const failures: string[] = []
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const r = await exchange(at(sid), from, base)
      if (r.status !== 200) return void failures.push(`${r.status} ${r.text}`)
      for (const packet of r.text.split('\x1e')) {
        if (packet === '2') await exchange(at(sid), from, base, '3')
        else if (packet.startsWith('42')) seen.push((JSON.parse(packet.slice(2)) as [string])[0])
        else if (packet === '1' || packet.startsWith('41')) return
      }
    }
  })().catch((e: unknown) => void failures.push(String(e)))
  return {
    seen,
    failures,
    async close() {
      stopped = true
      await exchange(at(sid), from, base, '1').catch(() => {})
      await loop
    },
  }
}

const clients = async (url: string) =>
  Number(/^undertow_socket_clients (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0)

describeWithNginx('behind the shipped nginx', () => {
  describeWithNats('with the bus', () => {
    describeWithRedis('with Redis', () => {
      describeWithServer('with a ClickHouse server', () => {
        const nats = useNatsServer('proxy')
        const redis = useRedisServer()
        const clickhouse = useClickHouseServer('proxy')
        const dir = tmpDir('bus-proxy')
        const children: ReturnType<typeof startMain>[] = []
        let nginx: Nginx
        let web: string[]
        let browser: Browser | undefined
        const start = (roles: string, name: string, env: Record<string, string> = {}) => {
          const common = {
            BUS_URL: nats.url(),
            REDIS_URL: redis.url(),
            CLICKHOUSE_URL: clickhouse.process().url,
            CLICKHOUSE_DATABASE: 'proxy',
            SENTIMENT_MODEL: 'lexicon',
            SIM_SPEED: '300',
            LOG_LEVEL: 'warn',
          }
          const child = startMain({ ...common, ROLES: roles, DATA_DIR: `${dir.path}/${name}`, ...env })
          children.push(child)
          return child.url
        }
        beforeAll(async () => {
          await start('live', 'live')
          // As docker-compose.yml runs them: the proxy is the nearest hop.
          web = await Promise.all([
            start('web', 'web-a', { TRUST_PROXY: '1' }),
            start('web', 'web-b', { TRUST_PROXY: '1' }),
            start('worker', 'worker'),
          ]).then((urls) => urls.slice(0, 2))
          nginx = await startNginx(
            `${dir.path}/nginx`,
            web.map((u) => new URL(u).host),
          )
        }, 120_000)
        afterAll(async () => {
          await browser?.close()
          await nginx?.stop()
          for (const c of children)
            if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL')
          await Promise.all(children.map((c) => exited(c.child)))
          dir.remove()
        })

        it('connects walls to both web processes over WebSocket and polling, with the live deltas, and acknowledges an alert', async () => {
          const a = await wall(nginx.url, TO_WEB_A).catch((e: unknown) =>
            Promise.reject(new Error(`${String(e)}; nginx: ${nginx.errors()}`)),
          )
          const b = await wall(nginx.url, TO_WEB_B)
          const polling = await pollingWall(nginx.url, TO_WEB_B)
          // One wall on each web process (the polling one with b).
          expect([await clients(web[0]!), await clients(web[1]!)]).toEqual([1, 2])
          expect(a.seen[0]).toMatch(/^snapshot\.v1 /)
          await start('ingest', 'ingest')
          const kinds = (seen: string[]) => new Set(seen.map((e) => e.split(' ')[0]))
          const wanted = [EVENTS.snapshot, EVENTS.aggregatesUpdated, EVENTS.metricsUpdated, EVENTS.postsAdded]
          await expect
            .poll(() => wanted.every((k) => kinds(a.seen).has(k) && kinds(b.seen).has(k) && polling.seen.includes(k)), {
              timeout: 60_000,
              interval: 200,
            })
            .toBe(true)
          expect(polling.failures).toEqual([])

          const raised = () => a.seen.find((e) => e.startsWith(`${EVENTS.alertRaised} `))
          await expect.poll(raised, { timeout: 60_000, interval: 200 }).toBeDefined()
          const { id } = JSON.parse(raised()!.slice(EVENTS.alertRaised.length + 1)) as { id: string }
          const acknowledge = (origin: string) =>
            exchange(`${nginx.url}/api/alerts/${encodeURIComponent(id)}/acknowledge`, TO_WEB_B, origin, '')
          // A foreign page is refused through the proxy as without it.
          expect((await acknowledge('http://evil.example')).status).toBe(403)
          const acknowledged = await acknowledge(nginx.url)
          expect(acknowledged.status, acknowledged.text).toBe(200)
          expect((JSON.parse(acknowledged.text) as { alert: { state: string } }).alert.state).toBe('acknowledged')
          for (const w of [a, b])
            await expect
              .poll(
                () =>
                  w.seen.some((e) => e.startsWith(`${EVENTS.alertUpdated} `) && e.includes('"state":"acknowledged"')),
                { timeout: 10_000 },
              )
              .toBe(true)
          await expect.poll(() => polling.seen.includes(EVENTS.alertUpdated), { timeout: 10_000 }).toBe(true)

          a.socket.close()
          b.socket.close()
          await polling.close()
          expect(polling.failures).toEqual([])
        }, 180_000)

        it.skipIf(!hasChromium)(
          'shows a live wall in Chromium through it',
          async () => {
            browser = await launchBrowser()
            const page = await browser.newPage({ viewport: { width: 1600, height: 900 } })
            await page.goto(`${nginx.url}/#/wall`)
            await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 20_000 }).toBe('Live')
            const figure = page.getByTestId('figure-Mentions, 15 min')
            await expect.poll(async () => Number(await figure.textContent()), { timeout: 20_000 }).toBeGreaterThan(0)
          },
          60_000,
        )
      })
    })
  })
})
