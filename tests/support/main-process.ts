// `server/main.ts` as its own process, the way `npm start` runs it, for tests that signal, kill
// and restart it.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')

export function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', SIM_SPEED: '600', LOG_LEVEL: 'info', ...env },
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const url = new Promise<string>((ok, fail) => {
    child.stdout.on('data', () => {
      const m = /Undertow is running: (http:\/\/\S+)/.exec(out)
      if (m) ok(m[1]!)
    })
    child.on('exit', (code) => fail(new Error(`exited ${code}: ${out}`)))
  })
  url.catch(() => {}) // awaited only by tests that expect a start
  return { child, url, output: () => out }
}

export async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  const [code] = await once(child, 'exit')
  return code as number | null
}
