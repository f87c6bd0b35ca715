// What one API read may cost the store (pipelines/store/limits.ts), in every mode: a read past its
// time or row limit fails with a QueryLimitError (and leaves the next query's answer whole), and in
// embedded mode the sink's writes do not queue behind readers.
import { afterEach, describe, expect, it } from 'vitest'
import type { ScoredPost } from '../../../pipelines/schema.ts'
import type { EmbeddedStore } from '../../../pipelines/store/embedded.ts'
import { QueryLimitError, withSettings } from '../../../pipelines/store/limits.ts'
import { ReadGate, WALL_READER } from '../../../pipelines/store/read-gate.ts'
import type { SqlStore } from '../../../pipelines/store/sql-store.ts'
import { storesUnderTest } from '../../support/stores.ts'

const MODES = storesUnderTest('limits')

const limited = (store: SqlStore) => store as SqlStore & { readTimeoutS: number | undefined }

function post(id: string, at: string): ScoredPost {
  return {
    id: `webhook:${id}`,
    source: 'webhook',
    url: '',
    author: { id: 'a', handle: 'a', displayName: '', followers: 1 },
    text: `post ${id} about Lumen`,
    lang: 'en',
    language: 'en',
    createdAt: at,
    engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
    brands: ['Lumen'],
    terms: ['lumen'],
    sentiment: {
      label: 'neutral',
      scores: { negative: 0, neutral: 1, positive: 0 },
      confidence: 1,
      mixed: false,
      uncertain: false,
      intents: [],
      emotions: [],
    },
  }
}

describe.each(MODES)('read limits ($name)', ({ store: open }) => {
  afterEach(() => {
    limited(open()).readTimeoutS = undefined
  })

  it('stops a read past its time limit with a QueryLimitError, and the next answer is whole', async () => {
    const store = limited(open())
    store.readTimeoutS = 1
    const started = Date.now()
    // A scan of a hundred billion numbers: minutes without the limit.
    const error = await store
      .select('SELECT count() AS n FROM numbers(100000000000)', undefined, {})
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(QueryLimitError)
    expect((error as QueryLimitError).limit).toBe('timeout')
    expect((error as Error).message).toMatch(/longer than 1 s/)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(await store.select('SELECT 7 AS x')).toEqual([{ x: 7 }])
  })

  it('refuses a list answer past its row limit, and leaves no rows of it to the next query', async () => {
    const store = open()
    const error = await store
      .select('SELECT number FROM numbers(100) SETTINGS max_block_size = 10', undefined, { maxRows: 10 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(QueryLimitError)
    expect((error as QueryLimitError).limit).toBe('rows')
    expect(await store.select('SELECT 8 AS x')).toEqual([{ x: 8 }])
    // Exactly at the limit is a whole answer.
    expect(
      await store.select('SELECT number FROM numbers(10) SETTINGS max_block_size = 3', undefined, { maxRows: 10 }),
    ).toHaveLength(10)
  })

  // API reads bind their values as checked literals (bind.ts) in both modes: whatever a client
  // sends comes back as it was, and nothing in it can end its literal.
  const HOSTILE = [
    "it's",
    "\\'; DROP TABLE posts; --",
    'back\\slash\\',
    'nul\0inside',
    'line\nbreak\r\ttab',
    '\u0001\u001f\u007f',
    '{word:String}',
    'Lumen ünïcödé 😀 中文 \u2028',
    "''",
    '\\',
  ]
  it.each(HOSTILE.map((s) => [JSON.stringify(s), s]))(
    'gives back %s bound into an API read as it was',
    async (_, hostile) => {
      const rows = await open().select<{ s: string; n: string; l: string[] }>(
        'SELECT {s:String} AS s, toString(length({s:String})) AS n, {l:Array(String)} AS l',
        { s: hostile, l: [hostile, 'x'] },
        {},
      )
      expect(rows).toEqual([{ s: hostile, n: String(Buffer.byteLength(hostile)), l: [hostile, 'x'] }])
    },
  )

  it('binds numbers, times and lists into an API read as their types', async () => {
    const rows = await open().select<Record<string, string>>(
      "SELECT toString({n:UInt64}) AS n, toString({i:Int8}) AS i, toString(toDateTime({t:UInt32}, 'UTC')) AS t, toString({ns:Array(UInt32)}) AS ns, toString(length({none:Array(String)})) AS none",
      {
        n: Number.MAX_SAFE_INTEGER,
        i: -1,
        t: Date.parse('2026-11-23T09:00:00Z') / 1000,
        ns: [1, 4_294_967_295],
        none: [],
      },
      {},
    )
    expect(rows).toEqual([
      { n: String(Number.MAX_SAFE_INTEGER), i: '-1', t: '2026-11-23 09:00:00', ns: '[1,4294967295]', none: '0' },
    ])
    await expect(open().select('SELECT {n:UInt32} AS n', { n: '1; DROP TABLE posts' }, {})).rejects.toThrow(
      'expected a safe integer',
    )
  })

  it('takes a read naming a scan page of post ids (past 256 KiB of SQL)', async () => {
    const ids = Array.from(
      { length: 5_000 },
      (_, i) => `bluesky:at://did:plc:abcdefghijklmnopqrstuvwx/app.bsky.feed.post/${i}`,
    )
    const [row] = await open().select<{ n: string }>(
      'SELECT toString(count()) AS n FROM posts WHERE has({ids:Array(String)}, id)',
      { ids },
      {},
    )
    expect(row).toEqual({ n: '0' })
  })
})

describe('embedded: reads take turns, writes do not wait for them', () => {
  const store = MODES[0]!.store() as EmbeddedStore

  it('stores a batch at once while slow reads wait for their turn', async () => {
    // Each read sleeps 1.5 s without using a core; a chdb connection runs one call at a time, so
    // on the sink's connection the insert would queue behind all five.
    const reads = Array.from({ length: 5 }, () =>
      store.select('SELECT sleepEachRow(0.3) AS s FROM numbers(5) SETTINGS max_block_size = 1', undefined, {}),
    )
    await new Promise((r) => setTimeout(r, 100))
    const started = Date.now()
    const stored = await store.insertPosts([
      post('gate-1', '2026-11-23T09:00:00.000Z'),
      post('gate-2', '2026-11-23T09:00:01.000Z'),
    ])
    const took = Date.now() - started
    expect(stored).toHaveLength(2)
    expect(took).toBeLessThan(1_200)
    expect(store.reads.queued).toBeGreaterThan(0)
    // The readers get their answers all the same, one slot at a time.
    const settled = await Promise.allSettled(reads)
    expect(settled.every((s) => s.status === 'fulfilled')).toBe(true)
  }, 60_000)

  it('stores a batch that asks about deletions while a slow read with parameters runs', async () => {
    // A stored deletion makes every older post's batch ask STORED_DELETION_IDS (a query with
    // parameters) before its insert; chdb runs such queries one at a time process-wide.
    await store.insertDeletions([{ postId: 'webhook:deleted', at: '2026-11-24T00:00:00.000Z' }])
    const read = store.select(
      "SELECT sleepEachRow(0.3) AS s FROM numbers(10) WHERE {word:String} != '' SETTINGS max_block_size = 1",
      { word: 'slow' },
      {},
    )
    await new Promise((r) => setTimeout(r, 200))
    const started = Date.now()
    const stored = await store.insertPosts([
      post('param-1', '2026-11-23T10:00:00.000Z'),
      post('deleted', '2026-11-23T10:00:01.000Z'),
    ])
    const took = Date.now() - started
    expect(stored.map((p) => p.id)).toEqual(['webhook:param-1'])
    expect(took).toBeLessThan(1_200)
    expect(await read).toHaveLength(10)
  }, 60_000)
})

it('puts the read settings into a query that has its own', () => {
  expect(withSettings('SELECT 1 SETTINGS max_block_size = 8192', { max_threads: 1 })).toBe(
    'SELECT 1 SETTINGS max_block_size = 8192, max_threads = 1',
  )
  expect(withSettings('SELECT 1', { timeout_overflow_mode: "break'; DROP" })).toBe(
    "SELECT 1\nSETTINGS timeout_overflow_mode = 'break'",
  )
})

describe('ReadGate', () => {
  it('runs at most `slots` reads at once, in order, and refuses past its queue', async () => {
    const gate = new ReadGate(1, 2, 10_000)
    const order: number[] = []
    let release!: () => void
    const first = gate.read(() => new Promise<void>((r) => (release = r)).then(() => order.push(1)))
    const second = gate.read(async () => order.push(2))
    const third = gate.read(async () => order.push(3))
    const refused = await gate.read(async () => order.push(4)).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(QueryLimitError)
    expect((refused as QueryLimitError).limit).toBe('busy')
    release()
    await Promise.all([first, second, third])
    expect(order).toEqual([1, 2, 3])
  })

  it('refuses a read that waited too long, and passes its slot on', async () => {
    const gate = new ReadGate(1, 10, 50)
    let release!: () => void
    const first = gate.read(() => new Promise<void>((r) => (release = r)))
    const waited = await gate.read(async () => 'late').catch((e: unknown) => e)
    expect(waited).toBeInstanceOf(QueryLimitError)
    release()
    await first
    expect(await gate.read(async () => 'next')).toBe('next')
  })
})

describe('ReadGate: fair turns', () => {
  /** A read that runs until `done()`; `ran` notes its name when it starts. */
  const held = (ran: string[], name: string) => {
    let done!: () => void
    const finished = new Promise<void>((r) => (done = r))
    return { job: async () => (ran.push(name), finished), done: () => done() }
  }

  it('gives a waiting client its turn before one whose read ran last, and the wall its turn first', async () => {
    const gate = new ReadGate(1, 64, 10_000)
    const ran: string[] = []
    const reads = ['a1', 'a2', 'a3', 'b1', 'wall'].map((name) => ({ name, ...held(ran, name) }))
    const answers = reads.map((r) => gate.read(r.job, r.name === 'wall' ? WALL_READER : `ip:${r.name[0]}`))
    for (const r of reads) {
      await new Promise((resolve) => setImmediate(resolve))
      r.done()
    }
    await Promise.all(answers)
    // a1 ran at once; then the wall's, b's (never served) and a's turns.
    expect(ran).toEqual(['a1', 'wall', 'b1', 'a2', 'a3'])
  })

  it('refuses a client past its reads at once, while another client still gets in', async () => {
    const gate = new ReadGate(1, 64, 10_000, 2)
    const ran: string[] = []
    const first = held(ran, 'a1')
    const a = [gate.read(first.job, 'ip:a'), gate.read(async () => ran.push('a2'), 'ip:a')]
    const refused = await gate.read(async () => ran.push('a3'), 'ip:a').catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(QueryLimitError)
    expect((refused as QueryLimitError).limit).toBe('client')
    expect((refused as Error).message).toMatch(/too many reads at once from this client: 2/)
    const b = gate.read(async () => ran.push('b1'), 'ip:b')
    first.done()
    await Promise.all([...a, b])
    expect(ran).toEqual(['a1', 'b1', 'a2'])
    // Once answered, the client may read again.
    expect(await gate.read(async () => 'again', 'ip:a')).toBe('again')
  })

  it('never refuses the wall for a full queue of API reads', async () => {
    const gate = new ReadGate(1, 1, 10_000)
    const first = held([], 'a1')
    const running = gate.read(first.job, 'ip:a')
    const waiting = gate.read(async () => 'b', 'ip:b')
    expect(((await gate.read(async () => 'c', 'ip:c').catch((e: unknown) => e)) as QueryLimitError).limit).toBe('busy')
    const wall = gate.read(async () => 'wall', WALL_READER)
    first.done()
    expect(await Promise.all([running, wall, waiting])).toEqual([undefined, 'wall', 'b'])
  })
})
