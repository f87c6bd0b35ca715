// A real nginx in front of web processes, running the shipped deploy/nginx.conf: Debian's nginx,
// started by the test on a free loopback port with its files in a folder of its own. Of the
// shipped file only the upstream servers and the listen port are replaced, so what is tested is
// what docker-compose.yml mounts.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { freePort } from './clickhouse-server.ts'
import { listening } from './nats-server.ts'
import { describeNeeding } from './needs.ts'

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p))
export const SHIPPED_CONF = resolve(import.meta.dirname, '../../deploy/nginx.conf')

export function describeWithNginx(name: string, body: () => void): void {
  describeNeeding('nginx', NGINX !== undefined, name, body)
}

/** The shipped file with `upstreams` (host:port) for its upstream's servers and `port` on 127.0.0.1 to listen on. */
export function deployedConf(shipped: string, upstreams: readonly string[], port: number): string {
  const block = /upstream\s+undertow_web\s*\{[^}]*\}/.exec(shipped)
  if (!block)
    throw new Error(`${SHIPPED_CONF}: no "upstream undertow_web { ... }" block to point at the test's web processes`)
  const servers = block[0].match(/^\s*server\s+\S+;\n/gm) ?? []
  if (servers.length === 0) throw new Error(`${SHIPPED_CONF}: the upstream block names no server`)
  const ours = upstreams.map((u) => `  server ${u};\n`).join('')
  const upstream = block[0].replace(servers.join(''), ours)
  if (upstream === block[0] && servers.join('') !== ours)
    throw new Error(`${SHIPPED_CONF}: the upstream's servers are not on consecutive lines`)
  const conf = shipped.replace(block[0], upstream)
  const listens = conf.match(/^\s*listen\s+[^;]+;/gm) ?? []
  if (listens.length !== 1) throw new Error(`${SHIPPED_CONF}: expected one listen directive, found ${listens.length}`)
  return conf.replace(listens[0]!, `  listen 127.0.0.1:${port};`)
}

export interface Nginx {
  url: string
  port: number
  /** What nginx wrote to its error log (why a request failed at the proxy). */
  errors: () => string
  stop: () => Promise<void>
}

/** nginx in the foreground (`daemon off`) running the shipped file inside an `http {}` block, as the official image's conf.d does. */
export async function startNginx(dir: string, upstreams: readonly string[]): Promise<Nginx> {
  if (!NGINX) throw new Error('nginx is not installed (apt-get install nginx)')
  const port = await freePort()
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub), { recursive: true })
  writeFileSync(join(dir, 'undertow.conf'), deployedConf(readFileSync(SHIPPED_CONF, 'utf8'), upstreams, port))
  // As root, nginx runs its workers as `nobody`, who could not write the temp folders here.
  const user = process.getuid?.() === 0 ? 'user root;\n' : ''
  const temp = ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((k) => `  ${k === 'body' ? 'client_body' : k}_temp_path ${join(dir, k)};`)
    .join('\n')
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${user}worker_processes 1;\nevents { worker_connections 512; }\nhttp {\n  access_log ${join(dir, 'access.log')};\n${temp}\n  include ${join(dir, 'undertow.conf')};\n}\n`,
  )
  const errorLog = join(dir, 'error.log')
  let output = ''
  const child: ChildProcess = spawn(
    NGINX,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', errorLog, '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)))
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)))
  const errors = () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8').slice(-4000) : '') + output
  await listening(port, child, errors, 'nginx')
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    errors,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      // SIGTERM: a fast shutdown that ends the workers too (SIGKILL would leave them behind).
      child.kill('SIGTERM')
      await exited
    },
  }
}
