// A real NATS server with JetStream for the bus suites: Debian's nats-server, on a free loopback
// port with its stream store under .tmp/, started before a file's tests and stopped after them.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { afterAll, beforeAll } from 'vitest'
import { freePort } from './clickhouse-server.ts'
import { describeNeeding } from './needs.ts'
import { tmpDir } from './tmp.ts'

export const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p))

export function describeWithNats(name: string, body: () => void): void {
  describeNeeding('nats-server', NATS_SERVER !== undefined, name, body)
}

/** Resolves once something accepts TCP connections on the port. */
export async function listening(port: number, child: ChildProcess, output: () => string, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${output()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${what} did not listen within 20 s: ${output()}`)
}

/** `nats-server -js` on a free loopback port, its streams under `dir`. */
export class NatsServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(dir: string): Promise<NatsServerProcess> {
    if (!NATS_SERVER) throw new Error('nats-server is not installed (apt-get install nats-server)')
    const port = await freePort()
    let output = ''
    const child = spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)))
    child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)))
    await listening(port, child, () => output, 'nats-server')
    return new NatsServerProcess(child, port)
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((r) => this.child.once('exit', r))
    this.child.kill('SIGTERM')
    await exited
  }
}

/** A NATS server of the file's own, started before its tests and stopped after them. */
export function useNatsServer(name: string): { url: () => string } {
  const dir = tmpDir(`nats-${name}`)
  let server: NatsServerProcess | undefined
  beforeAll(async () => {
    server = await NatsServerProcess.start(dir.path)
  }, 30_000)
  afterAll(async () => {
    await server?.stop()
    dir.remove()
  })
  return { url: () => server!.url }
}
