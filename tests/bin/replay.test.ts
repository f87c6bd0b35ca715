// `npx undertow replay`: files into a running Undertow through its webhook, as a user runs it.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mappingFrom, postFrom } from '../../pipelines/sources/replay.ts'
import { exited, startMain } from '../support/main-process.ts'
import { tmpDir } from '../support/tmp.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const TOKEN = 'replay-test-token-0123'

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['bin/undertow.js', 'replay', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  return exited(child).then((code) => ({ code, out, err }))
}

describe('replay records', () => {
  it('maps columns onto post fields, converts counts and epoch times, and names each record by its id or line', () => {
    const mapping = mappingFrom(['text=content', 'author.handle=user', 'createdAt=ts', 'engagement.likes=favs'])
    const read = postFrom(
      { content: 'the Lumen battery', user: '@Ann', ts: '1795132800', favs: '7', tweet_id: '99' },
      mapping,
      4,
    )
    expect(read).toEqual({
      line: 4,
      ok: true,
      post: {
        id: 'replay:line-4',
        source: 'replay',
        url: '',
        lang: '',
        brands: [],
        terms: [],
        text: 'the Lumen battery',
        createdAt: '2026-11-20T00:00:00.000Z',
        author: { id: '@Ann', handle: 'ann', displayName: '@Ann', followers: 0 },
        engagement: { likes: 7, reposts: 0, replies: 0, quotes: 0 },
      },
    })
    expect(
      postFrom({ id: 7, text: 'x', createdAt: '2026-11-21T00:00:00Z', author: { handle: 'bo' } }, {}, 1),
    ).toMatchObject({ ok: true, post: { id: 'replay:7', author: { handle: 'bo' } } })
    expect(postFrom({ text: 'x', createdAt: 'soon', author: { handle: 'bo' } }, {}, 2)).toEqual({
      line: 2,
      ok: false,
      reason: expect.stringContaining('/createdAt'),
    })
    expect(postFrom({ text: 'x', createdAt: '2026-11-21T00:00:00Z', 'engagement.likes': 'many' }, {}, 3)).toEqual({
      line: 3,
      ok: false,
      reason: 'engagement.likes: expected a count, got "many"',
    })
    // Threads inside the file stay threads.
    expect(
      postFrom({ id: 2, text: 'x', createdAt: '2026-11-21T00:00:00Z', replyTo: '1', author: { handle: 'bo' } }, {}, 5),
    ).toMatchObject({ post: { id: 'replay:2', replyTo: 'replay:1' } })
    expect(() => mappingFrom(['txt=content'])).toThrow('"txt" is not a post field')
    expect(() => mappingFrom(['text'])).toThrow('expected field=column')
  })
})

describe('npx undertow replay', () => {
  const dir = tmpDir('replay')
  const app = startMain({
    DATA_DIR: join(dir.path, 'data'),
    SOURCES: 'webhook',
    INGEST_TOKEN: TOKEN,
    SENTIMENT_MODEL: 'lexicon',
    COMPETITORS: 'Corvid',
  })
  let url = ''
  const stored = async () =>
    (await (await fetch(`${url}/api/posts?source=replay&pageSize=200`)).json()) as {
      total: number
      posts: { id: string; text: string; createdAt: string }[]
    }
  beforeAll(async () => {
    url = await app.url
  })
  afterAll(async () => {
    app.child.kill('SIGTERM')
    await exited(app.child)
    dir.remove()
  })

  it('backfills an NDJSON file as fast as the server takes it, and sums up what it refused and why', async () => {
    const file = join(dir.path, 'posts.ndjson')
    const good = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({
        id: `n${i}`,
        text: `Lumen backfill ${i}`,
        createdAt: `2026-11-20T10:${String(i).padStart(2, '0')}:00Z`,
        author: { handle: `user${i}` },
      }),
    )
    writeFileSync(
      file,
      [
        ...good.slice(0, 10),
        '{not json',
        JSON.stringify({ id: 'late', text: 'Lumen', createdAt: 'tomorrow', author: { handle: 'x' } }),
        '',
        ...good.slice(10),
      ].join('\n'),
    )
    const result = await run([file, '--fast', '--server', url], { INGEST_TOKEN: TOKEN })
    expect(result.code).toBe(1)
    expect(result.out).toContain('replay: 30 accepted, 2 rejected')
    expect(result.out).toMatch(/1 × not JSON: .* \(line 11\)/)
    expect(result.out).toMatch(/1 × \/createdAt .* \(line 12\)/)
    expect(result.err).toMatch(/replay \|.*\| 100% \| 30 accepted, 2 rejected/)
    await expect.poll(async () => (await stored()).total, { timeout: 10_000 }).toBe(30)
    // A backfill keeps the posts' own times.
    expect((await stored()).posts.find((p) => p.id === 'replay:n0')?.createdAt).toBe('2026-11-20T10:00:00.000Z')
  })

  it('plays a CSV file with mapped columns at x600 speed, as if it happened now', async () => {
    const file = join(dir.path, 'tweets.csv')
    writeFileSync(
      file,
      'tweet_id,content,user,ts\n1,"Lumen, the ""X2"": battery?",ann,1795132800\n2,Lumen support was quick,bob,1795132860\n3,Lumen price is fine,cy,1795132920\n',
    )
    const before = Date.now()
    const result = await run([
      file,
      '--speed',
      '600',
      '--server',
      url,
      '--token',
      TOKEN,
      '--map',
      'id=tweet_id',
      '--map',
      'text=content',
      '--map',
      'author.handle=user',
      '--map',
      'createdAt=ts',
    ])
    expect(result.out).toContain('replay: 3 accepted, 0 rejected')
    expect(result.code).toBe(0)
    await expect.poll(async () => (await stored()).total, { timeout: 10_000 }).toBe(33)
    const played = (await stored()).posts
      .filter((p) => ['replay:1', 'replay:2', 'replay:3'].includes(p.id))
      .sort((a, b) => a.id.localeCompare(b.id))
    expect(played.map((p) => p.text)).toEqual([
      'Lumen, the "X2": battery?',
      'Lumen support was quick',
      'Lumen price is fine',
    ])
    // Two minutes of posts at x600: 0.2 s apart in all, from now.
    const times = played.map((p) => Date.parse(p.createdAt))
    expect(times[0]).toBeGreaterThanOrEqual(before - 1000)
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(150)
    expect(times[2]! - times[0]!).toBeLessThan(2_000)
  })

  it('reports the CSV records it cannot read by line, and sends the rest', async () => {
    const file = join(dir.path, 'quirks.csv')
    writeFileSync(
      file,
      'id,text,createdAt,author.handle\nq1,He said "hi" about Lumen,2026-11-20T10:00:00Z,ann\nq2,too,many,fields,here,bob\nq3,"Lumen fine",2026-11-20T10:01:00Z,cy\n',
    )
    const result = await run([file, '--fast', '--server', url, '--token', TOKEN])
    expect(result.out).toContain('replay: 2 accepted, 1 rejected')
    expect(result.out).toMatch(/1 × not CSV record: .*\(line 3\)|1 × not a CSV record: .*\(line 3\)/)
  })

  it('says what is wrong with the command before reading anything', async () => {
    expect(await run(['missing.ndjson', '--fast', '--server', url, '--token', TOKEN])).toMatchObject({
      code: 1,
      err: expect.stringContaining('ENOENT'),
    })
    expect(await run([join(dir.path, 'posts.ndjson'), '--speed', '0', '--token', TOKEN])).toMatchObject({
      code: 1,
      err: expect.stringContaining('--speed 0: expected a number above 0'),
    })
    expect(
      await run([join(dir.path, 'posts.ndjson'), '--fast', '--server', url, '--token', 'wrong-token-123456789']),
    ).toMatchObject({ code: 1, err: expect.stringContaining('answered 401') })
  })
})
