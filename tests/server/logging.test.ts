// Logs: a request is a debug line (not Fastify's info pair), so LOG_LEVEL=info shows the pipeline,
// not every page load; in a terminal the process writes readable lines (pino-pretty), elsewhere one
// JSON object a line. The terminal is a real pseudo-terminal (util-linux's `script`).
import { spawn } from 'node:child_process'
import { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { resolve } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { EmbeddedStore } from '../../pipelines/store/embedded.ts'
import { buildServer } from '../../server/app.ts'
import { loggerOptions } from '../../server/logging.ts'
import { tracking } from '../support/fixtures.ts'
import { exited, startMain } from '../support/main-process.ts'
import { tmpDir } from '../support/tmp.ts'

const dir = tmpDir('logging')
afterAll(() => dir.remove())

async function appLogging(level: string) {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  const store = new EmbeddedStore(resolve(dir.path, `store-${level}`))
  await store.migrate()
  const app = await buildServer({
    store,
    view: new LiveView(),
    tracking,
    health: { classifier: 'vader-lexicon', sources: [], stats: () => ({ received: 0 }) },
    logger: { level, stream },
  })
  return {
    lines,
    app,
    close: async () => {
      await app.close()
      await store.close()
    },
  }
}

describe('logs', () => {
  it('logs each request once, at debug: nothing at info', async () => {
    for (const level of ['info', 'debug']) {
      const t = await appLogging(level)
      try {
        expect((await t.app.inject('/healthz')).statusCode).toBe(200)
        expect((await t.app.inject('/no-such-page')).statusCode).toBe(404)
        const requests = t.lines.filter((l) => typeof l.msg === 'string' && /healthz|no-such-page|request/.test(l.msg))
        if (level === 'info') expect(requests).toEqual([])
        else {
          expect(requests.map((l) => [l.level, l.msg])).toEqual([
            [20, expect.stringMatching(/^GET \/healthz 200 \d+\.\d ms$/)],
            [20, expect.stringMatching(/^GET \/no-such-page 404 /)],
          ])
          expect(requests[0]).toMatchObject({
            req: { method: 'GET', url: '/healthz' },
            res: { statusCode: 200 },
            responseTime: expect.any(Number),
          })
        }
      } finally {
        await t.close()
      }
    }
  })

  it('chooses readable lines for a terminal and JSON otherwise', () => {
    expect(loggerOptions('info', false)).toEqual({ level: 'info' })
    expect(loggerOptions('warn', true)).toMatchObject({ level: 'warn', stream: expect.any(Object) })
  })

  it('writes readable lines in a terminal, with requests at debug', async () => {
    const env = {
      ...process.env,
      PORT: '0',
      DATA_DIR: resolve(dir.path, 'tty'),
      SENTIMENT_MODEL: 'lexicon',
      SIM_SPEED: '60',
      LOG_LEVEL: 'debug',
    }
    const child = spawn('script', ['-qefc', `${process.execPath} --import tsx server/main.ts`, '/dev/null'], {
      cwd: resolve(import.meta.dirname, '../..'),
      env,
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    try {
      await expect.poll(() => /Undertow is running: (http:\S+)/.exec(out)?.[1], { timeout: 30_000 }).toBeTruthy()
      const url = /Undertow is running: (http:\S+)/.exec(out)![1]!.replace('\r', '')
      expect((await fetch(`${url}/healthz`)).status).toBe(200)
      await expect.poll(() => out, { timeout: 10_000 }).toMatch(/DEBUG.*GET \/healthz 200/)
      const plain = out.replace(/\x1b\[[0-9;]*m/g, '')
      expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: Undertow wall: http:/m)
      expect(plain).not.toContain('{"level"')
    } finally {
      child.kill('SIGTERM')
      await exited(child)
    }
  })

  it('writes JSON lines when not in a terminal, without request lines at info', async () => {
    const main = startMain({
      DATA_DIR: resolve(dir.path, 'json'),
      SENTIMENT_MODEL: 'lexicon',
      SIM_SPEED: '60',
      LOG_LEVEL: 'info',
    })
    try {
      const url = await main.url
      expect((await fetch(`${url}/healthz`)).status).toBe(200)
      const lines = main
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string })
      expect(lines.some((l) => l.level === 30 && l.msg.startsWith('Undertow wall: http:'))).toBe(true)
      expect(lines.filter((l) => /healthz|request/.test(l.msg))).toEqual([])
    } finally {
      main.child.kill('SIGTERM')
      await exited(main.child)
    }
  })
})
