// A real ClickHouse server process for the server-mode suites: Debian's clickhouse-server (18.16
// here), started on free loopback ports with its data under .tmp/, killed and restarted at will.
// Without the binary the suites are skipped with a notice; under CI=true they fail instead.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { describeNeeding } from './needs.ts'
import { ServerStore } from '../../pipelines/store/server.ts'
import { tmpDir } from './tmp.ts'

export const CLICKHOUSE_SERVER = ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server'].find((p) =>
  existsSync(p),
)

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export class ClickHouseServerProcess {
  private child: ChildProcess | undefined
  private output = ''
  private constructor(
    readonly dir: string,
    readonly httpPort: number,
  ) {}

  static async create(dir: string): Promise<ClickHouseServerProcess> {
    const [http, tcp] = [await freePort(), await freePort()]
    for (const sub of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(dir, sub), { recursive: true })
    writeFileSync(
      join(dir, 'config.xml'),
      `<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>${http}</http_port>
  <tcp_port>${tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
`,
    )
    writeFileSync(
      join(dir, 'users.xml'),
      `<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`,
    )
    return new ClickHouseServerProcess(dir, http)
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`
  }

  /** The running server's process id (for the benchmarks' CPU figures). */
  get pid(): number | undefined {
    return this.child?.pid
  }

  /**
   * A server on free ports, started. Between freePort() and the server's bind another process may
   * take a port (tests run side by side): then it starts again on other ports.
   */
  static async started(dir: string): Promise<ClickHouseServerProcess> {
    for (let attempt = 1; ; attempt++) {
      const server = await ClickHouseServerProcess.create(dir)
      try {
        await server.start()
        return server
      } catch (error) {
        if (attempt >= 3 || !/Address already in use/.test(String(error))) throw error
      }
    }
  }

  /** Starts the server and waits until it answers. */
  async start(): Promise<void> {
    if (!CLICKHOUSE_SERVER) throw new Error('clickhouse-server is not installed')
    this.output = ''
    const child = spawn(CLICKHOUSE_SERVER, [`--config-file=${join(this.dir, 'config.xml')}`], {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000)))
    child.stderr.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000)))
    this.child = child
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`clickhouse-server exited with ${child.exitCode}: ${this.output}`)
      try {
        const response = await fetch(`${this.url}/ping`)
        if (response.ok) return
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`clickhouse-server did not answer within 30 s: ${this.output}`)
  }

  /** kill -9: no shutdown of its own, as in a crash. */
  async kill9(): Promise<void> {
    await this.stopWith('SIGKILL')
  }

  async stop(): Promise<void> {
    await this.stopWith('SIGTERM')
  }

  private async stopWith(signal: NodeJS.Signals): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill(signal)
    await exited
    this.child = undefined
  }
}

/** A describe block that needs a ClickHouse server (tests/support/needs.ts). */
export function describeWithServer(name: string, body: () => void): void {
  describeNeeding('clickhouse-server', CLICKHOUSE_SERVER !== undefined, name, body)
}

/** A server process of the file's own, started before its tests and stopped after them. */
export function useClickHouseServer(name: string): {
  process: () => ClickHouseServerProcess
  store: (database?: string) => ServerStore
} {
  const dir = tmpDir(`clickhouse-${name}`)
  let server: ClickHouseServerProcess | undefined
  const stores: ServerStore[] = []
  beforeAll(async () => {
    server = await ClickHouseServerProcess.started(dir.path)
  }, 60_000)
  afterAll(async () => {
    for (const s of stores) await s.close()
    await server?.stop()
    dir.remove()
  })
  return {
    process: () => server!,
    store: (database = 'default') => {
      const store = new ServerStore({ url: server!.url, database })
      stores.push(store)
      return store
    },
  }
}
