// The Redis adapter's failures name the Redis meant (REDIS_URL) without its credentials, an
// address node-redis cannot read included (a password written with / # in it); and Redis going
// away while walls are pushed to is told, never the end of the process.
import { spawn } from 'node:child_process'
import { Server } from 'socket.io'
import { describe, expect, it } from 'vitest'
import { redisAdapter } from '../../server/cluster.ts'
import { freePort } from '../support/clickhouse-server.ts'
import { exited } from '../support/main-process.ts'
import { listening } from '../support/nats-server.ts'
import { describeWithRedis, REDIS_SERVER } from '../support/redis-server.ts'

describe('redisAdapter', () => {
  it('names an address it cannot read, without its password, and says why', async () => {
    const error = await redisAdapter('redis://default:pa/ss#1@127.0.0.1:1', () => {}).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toBe(
      'cannot reach Redis at redis://default:***@127.0.0.1:1: Invalid URL (a password with / # ? in it must be percent-encoded)',
    )
  })
})

describeWithRedis('redisAdapter, Redis killed mid-push', () => {
  it('tells of the publishes Redis never answered, and leaves no promise unhandled', async () => {
    const port = await freePort()
    let output = ''
    const redis = spawn(
      REDIS_SERVER!,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    redis.stdout!.on('data', (d: Buffer) => (output += d.toString()))
    await listening(port, redis, () => output, 'redis-server')
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    const errors: Error[] = []
    const cluster = await redisAdapter(`redis://127.0.0.1:${port}`, (e) => errors.push(e))
    const io = new Server({ adapter: cluster.adapter })
    // Pushes as the live process makes them, many in flight when Redis dies.
    const pushing = setInterval(() => {
      for (let i = 0; i < 50; i++) io.emit('posts.added.v1', [{ id: String(i), text: 'x'.repeat(2_000) }])
    }, 1)
    try {
      await new Promise((r) => setTimeout(r, 300))
      redis.kill('SIGKILL')
      await exited(redis)
      await new Promise((r) => setTimeout(r, 1_000))
    } finally {
      clearInterval(pushing)
      process.off('unhandledRejection', onUnhandled)
      await cluster.close()
    }
    expect(unhandled).toEqual([])
    expect(errors.length).toBeGreaterThan(0)
  })
})
