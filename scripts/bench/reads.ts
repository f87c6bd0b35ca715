// npm run bench:reads [-- --posts 2000000 --slots 2 --clients 20 --idle 20 --loaded 40 --batch 200 --every 250]
//
// Does the embedded store keep writing while viewers hammer the API? A writer stores a batch of
// new posts every --every ms through the sink's write path (insertPosts: duplicate check, insert,
// views) and one deletion; a deletion stored after them makes each batch ask which of its posts
// were deleted (a query with parameters, as the sink's is once any deletion is stored). It writes
// first alone (idle), then while --clients clients (a separate process, on loopback) ask
// the heaviest reads back to back: aggregates without a range, a text search that matches nothing,
// the deepest page, an open-ended series, a week of metrics, the CSV of an hour, HEAD of the
// whole CSV. Prints the write latency's median and p99 idle and loaded and their ratio (the
// goal: p99 within 2x), and the reads' answers by status. Each client asks from an address of
// its own (127.0.0.2 on), as viewers on other machines would: reads take turns by client. The
// store is seeded by SQL inside ClickHouse with --posts posts over the week before the writer's
// posts; --slots sets how many reads run at once (default READ_SLOTS).
import { spawn } from 'node:child_process'
import { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { request } from 'node:http'
import { parseArgs } from 'node:util'
import type { ScoredPost } from '../../pipelines/schema.ts'
import { EmbeddedStore } from '../../pipelines/store/embedded.ts'
import { READ_SLOTS } from '../../pipelines/store/read-gate.ts'
import { buildServer } from '../../server/app.ts'
import { trackingFrom } from '../../server/tracking.ts'
import { tmpDir } from '../../tests/support/tmp.ts'
import { fmt, median, percentile } from './stats.ts'

const { values: args } = parseArgs({
  options: {
    posts: { type: 'string', default: '2000000' },
    slots: { type: 'string', default: String(READ_SLOTS) },
    clients: { type: 'string', default: '20' },
    idle: { type: 'string', default: '20' },
    loaded: { type: 'string', default: '40' },
    batch: { type: 'string', default: '200' },
    every: { type: 'string', default: '250' },
    // Internal: run as the clients' process against this URL.
    hammer: { type: 'string' },
  },
})

const END = Date.parse('2026-11-23T09:00:00.000Z')
const WEEK = 7 * 86_400_000
const HEAVY = [
  '/api/aggregates',
  '/api/posts?q=no-such-word-anywhere',
  '/api/posts?page=200&pageSize=50',
  '/api/posts/series',
  `/api/metrics/series?brand=Lumen&bucket=hour&from=${new Date(END - WEEK).toISOString()}&to=${new Date(END).toISOString()}`,
  `/api/posts.csv?from=${new Date(END - 3_600_000).toISOString()}&to=${new Date(END).toISOString()}`,
  'HEAD /api/posts.csv',
  '/api/metrics?brand=Lumen&window=24h',
]

/** The clients: each asks the heavy reads in turn, reading every answer to its end. */
async function hammer(base: string, clients: number, seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000
  const statuses: Record<string, number> = {}
  const took: number[] = []
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; Date.now() < until; i++) {
        const [method, path] = HEAVY[i % HEAVY.length]!.startsWith('HEAD ')
          ? ['HEAD', HEAVY[i % HEAVY.length]!.slice(5)]
          : ['GET', HEAVY[i % HEAVY.length]!]
        const started = performance.now()
        try {
          const status = await ask(`${base}${path}`, method, `127.0.0.${2 + c}`)
          statuses[status] = (statuses[status] ?? 0) + 1
        } catch (error) {
          const key = `failed: ${(error as Error).message}`
          statuses[key] = (statuses[key] ?? 0) + 1
        }
        took.push(performance.now() - started)
      }
    }),
  )
  process.stdout.write(JSON.stringify({ statuses, medianMs: median(took), p99Ms: percentile(took, 99) }))
}

/** The status of a request from `localAddress` (with the error's code), once its answer is read to the end. */
function ask(url: string, method: string, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, localAddress }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += res.statusCode === 200 ? '' : d))
      res.on('end', () =>
        resolve(
          res.statusCode === 200 ? '200' : `${res.statusCode} ${(/"code":"(\w+)"/.exec(body) ?? [])[1] ?? ''}`.trim(),
        ),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

async function main(): Promise<void> {
  const dir = tmpDir('bench-reads')
  const store = new EmbeddedStore(dir.path, { readSlots: Number(args.slots) })
  try {
    await store.migrate()
    const seeding = Date.now()
    await seed(store, Number(args.posts))
    // Bulk loading leaves merges running: the idle figures are the steady state's.
    for (let waited = 0; waited < 120; waited++) {
      const [merges] = await store.select<{ n: string }>('SELECT count() AS n FROM system.merges')
      if (Number(merges!.n) === 0) break
      await new Promise((r) => setTimeout(r, 1_000))
    }
    console.log(
      `seeded ${Number(args.posts).toLocaleString('en')} posts over a week in ${fmt((Date.now() - seeding) / 1000)} s (merges done)`,
    )
    const app = await buildServer({
      store,
      view: new LiveView(),
      tracking: trackingFrom({ BRAND: 'Lumen', COMPETITORS: 'Corvid,Nimbus' }),
      health: { classifier: 'vader-lexicon', sources: [], stats: () => ({}) },
    })
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const writer = new Writer(store, Number(args.batch), Number(args.every))
    try {
      const idle = await writer.run(Number(args.idle))
      const clients = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          import.meta.filename,
          '--hammer',
          base,
          '--clients',
          args.clients!,
          '--loaded',
          args.loaded!,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
      let out = ''
      clients.stdout.on('data', (d: Buffer) => (out += d))
      const done = new Promise((r) => clients.on('exit', r))
      const loaded = await writer.run(Number(args.loaded))
      await done
      const reads = JSON.parse(out || '{}') as { statuses?: Record<string, number>; medianMs?: number; p99Ms?: number }
      console.log(`writes (${args.batch} posts every ${args.every} ms, sink path; ${args.slots} read slots):`)
      console.log(
        `  idle:   median ${fmt(median(idle))} ms, p99 ${fmt(percentile(idle, 99))} ms (${idle.length} batches)`,
      )
      console.log(
        `  loaded: median ${fmt(median(loaded))} ms, p99 ${fmt(percentile(loaded, 99))} ms (${loaded.length} batches, ${args.clients} clients reading)`,
      )
      console.log(
        `  ratio loaded/idle: median ${fmt(median(loaded) / median(idle), 2)}x, p99 ${fmt(percentile(loaded, 99) / percentile(idle, 99), 2)}x (goal: p99 within 2x)`,
      )
      console.log(
        `reads: ${JSON.stringify(reads.statuses)}; median ${fmt(reads.medianMs ?? NaN)} ms, p99 ${fmt(reads.p99Ms ?? NaN)} ms`,
      )
    } finally {
      await app.close()
    }
  } finally {
    await store.close()
    dir.remove()
  }
}

/** The sink's write path, a batch of new posts at a fixed pace; each batch's latency in ms. */
class Writer {
  private n = 0
  constructor(
    private readonly store: EmbeddedStore,
    private readonly batch: number,
    private readonly everyMs: number,
  ) {}

  async run(seconds: number): Promise<number[]> {
    // Stored after every post the writer will make: each batch takes the deletion lookup.
    if (this.n === 0)
      await this.store.insertDeletions([
        { postId: 'bench:deleted-later', at: new Date(END + 30 * 86_400_000).toISOString() },
      ])
    const took: number[] = []
    const until = Date.now() + seconds * 1000
    while (Date.now() < until) {
      const next = Date.now() + this.everyMs
      const posts = Array.from({ length: this.batch }, () => this.post())
      const started = performance.now()
      await this.store.insertPosts(posts)
      await this.store.insertDeletions([
        { postId: posts[0]!.id, at: new Date(END + 30 * 86_400_000 + this.n).toISOString() },
      ])
      took.push(performance.now() - started)
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())))
    }
    return took
  }

  private post(): ScoredPost {
    const n = this.n++
    return {
      id: `bench:new:${n}`,
      source: 'simulator',
      url: '',
      author: { id: `new${n % 5000}`, handle: `new${n % 5000}`, displayName: '', followers: n % 1000 },
      text: `the Lumen X2 battery, take ${n}`,
      lang: 'en',
      language: 'en',
      createdAt: new Date(END + n * 5).toISOString(),
      engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
      brands: [['Lumen', 'Corvid', 'Nimbus'][n % 3]!],
      terms: [],
      sentiment: {
        label: 'neutral',
        scores: { negative: 0.2, neutral: 0.5, positive: 0.3 },
        confidence: 0.5,
        mixed: false,
        uncertain: false,
        intents: n % 5 === 0 ? ['question'] : [],
        emotions: n % 7 === 0 ? ['anger'] : [],
      },
    }
  }
}

/** `count` posts over the week before END, made inside ClickHouse (the views count them as the sink's would). */
async function seed(store: EmbeddedStore, count: number): Promise<void> {
  const start = END - WEEK
  for (let offset = 0; offset < count; offset += 250_000) {
    await store.run(`
INSERT INTO posts (id, source, url, author_id, author_handle, author_name, author_followers, text, lang, created_at, created_ms,
  reply_to, quote_of, likes, reposts, replies, quotes, brands, terms, own_brand, label, p_negative, p_neutral, p_positive,
  confidence, mixed, uncertain, middle, intents, needs_reply, answers_mention_ms, mention_needs_reply, thread_root, thread_brand, thread_depth, ingested_at)
SELECT concat('bench:', toString(number)), 'simulator', '', concat('a', toString(number % 50000)) AS author, author, author, number % 20000,
  concat('the Lumen X2 battery is ', ['great', 'awful', 'fine', 'late'][number % 4 + 1], ', take ', toString(number)), 'en',
  toDateTime(intDiv(${start} + intDiv(number * ${WEEK}, ${count}), 1000)), ${start} + intDiv(number * ${WEEK}, ${count}),
  '', '', number % 20, number % 5, 0, 0, [['Lumen', 'Corvid', 'Nimbus'][number % 3 + 1]], [], '',
  CAST(['negative', 'neutral', 'positive'][number % 3 + 1] AS Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1)),
  0.2, 0.5, 0.3, 0.5, number % 17 = 0, number % 13 = 0, number % 3 = 1, if(number % 5 = 1, ['question'], []), [], 0, 0, '', '', 0, 0
FROM numbers(${offset}, ${Math.min(250_000, count - offset)})`)
  }
}

if (args.hammer) await hammer(args.hammer, Number(args.clients), Number(args.loaded))
else await main()
