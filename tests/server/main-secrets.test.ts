// The process never shows the passwords in BUS_URL and REDIS_URL: not in /readyz (open to anyone)
// when the bus and Redis go away, not in its logs. Real nats-server and redis-server (with a
// password), real process.
import { type ChildProcess, spawn } from 'node:child_process'
import { afterAll, expect, it } from 'vitest'
import { freePort } from '../support/clickhouse-server.ts'
import { exited, startMain } from '../support/main-process.ts'
import { listening, NATS_SERVER, NatsServerProcess } from '../support/nats-server.ts'
import { describeNeeding } from '../support/needs.ts'
import { REDIS_SERVER } from '../support/redis-server.ts'
import { tmpDir } from '../support/tmp.ts'

const BUS_SECRET = 'bus-s3cret-0123'
const REDIS_SECRET = 'redis-s3cret-4567'

const dir = tmpDir('main-secrets')
afterAll(() => dir.remove())

async function redisWithPassword(port: number): Promise<ChildProcess> {
  let output = ''
  const child = spawn(
    REDIS_SERVER!,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', REDIS_SECRET],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)))
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)))
  await listening(port, child, () => output, 'redis-server')
  return child
}

describeNeeding(
  'nats-server and redis-server',
  NATS_SERVER !== undefined && REDIS_SERVER !== undefined,
  'secrets in addresses',
  () => {
    it('/readyz names the bus and Redis that went away without their passwords, and the log never shows them', async () => {
      const natsDir = tmpDir('main-secrets-nats')
      const nats = await NatsServerProcess.start(natsDir.path)
      const redisPort = await freePort()
      const redis = await redisWithPassword(redisPort)
      // nats-server without auth takes any credentials: the URL carries them all the same.
      const busUrl = `nats://undertow:${BUS_SECRET}@127.0.0.1:${nats.port}`
      const main = startMain({
        DATA_DIR: dir.path,
        BUS_URL: busUrl,
        REDIS_URL: `redis://:${REDIS_SECRET}@127.0.0.1:${redisPort}`,
        SENTIMENT_MODEL: 'lexicon',
        LOG_LEVEL: 'debug',
      })
      try {
        const url = await main.url
        await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 20_000 }).toBe(200)
        await nats.stop()
        redis.kill('SIGTERM')
        await exited(redis)
        const missing = async () =>
          ((await (await fetch(`${url}/readyz`)).json()) as { missing?: string[] }).missing ?? []
        await expect
          .poll(async () => (await missing()).filter((m) => /bus|Redis/.test(m)).length, { timeout: 20_000 })
          .toBe(2)
        const body = JSON.stringify(await missing())
        expect(body).toContain(`the bus (nats://undertow:***@127.0.0.1:${nats.port}) is not connected`)
        expect(body).toContain(`Redis (redis://:***@127.0.0.1:${redisPort}) is not connected`)
        for (const path of ['/readyz', '/healthz']) {
          const text = await (await fetch(`${url}${path}`)).text()
          expect(text).not.toContain(BUS_SECRET)
          expect(text).not.toContain(REDIS_SECRET)
        }
      } finally {
        // Not a graceful stop: with the bus gone it would wait for it (this test is about words).
        main.child.kill('SIGKILL')
        await exited(main.child)
        await nats.stop()
        natsDir.remove()
        if (redis.exitCode === null) redis.kill('SIGKILL')
      }
      expect(main.output()).toContain('Undertow is running')
      expect(main.output()).not.toContain(BUS_SECRET)
      expect(main.output()).not.toContain(REDIS_SECRET)
    })
  },
)
