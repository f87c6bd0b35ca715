// A real Redis for the suites where web processes share live pushes (socket.io's Redis adapter):
// Debian's redis-server, on a free loopback port, without persistence, for the file's tests.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll } from 'vitest'
import { freePort } from './clickhouse-server.ts'
import { listening } from './nats-server.ts'
import { describeNeeding } from './needs.ts'

export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/sbin/redis-server'].find((p) => existsSync(p))

export function describeWithRedis(name: string, body: () => void): void {
  describeNeeding('redis-server', REDIS_SERVER !== undefined, name, body)
}

export function useRedisServer(): { url: () => string } {
  let child: ChildProcess | undefined
  let port = 0
  beforeAll(async () => {
    port = await freePort()
    let output = ''
    child = spawn(REDIS_SERVER!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)))
    child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)))
    await listening(port, child, () => output, 'redis-server')
  }, 30_000)
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r))
      child.kill('SIGTERM')
      await exited
    }
  })
  return { url: () => `redis://127.0.0.1:${port}` }
}
