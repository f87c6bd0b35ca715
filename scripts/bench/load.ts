// npm run bench:load [-- --rate 2000 --clients 500 --seconds 60 --model <SENTIMENT_MODEL> --threads <SENTIMENT_THREADS> --compare-journal]
// npm run bench:soak   (the same at 200 posts/s for 30 minutes, memory every minute; its warm-up
//                       first fills the bounded memories at 2,000 posts/s, as hours of traffic would)
//
// The running server under load, on loopback: `server/main.ts` as its own process (embedded store,
// the bundled model unless --model says otherwise, the webhook as its source) takes posts through
// POST /api/ingest at --rate posts a second (NDJSON, a request every 50 ms), while --clients
// socket.io walls watch. Printed: the posts/s the server stored (through classify and store) and
// pushed to the walls, the ingest-to-wall latency p50/p99, the server's RSS and CPU, each
// --every seconds and over the whole run after --warmup.
//
// Latency is measured on probe posts: four a second about another brand (Corvid) among the load
// (about Lumen). They take the same way (the classifier's queue, the store, the live push) but are
// never among the posts a push leaves out (LIVE_POSTS_PER_BRAND), so none of the load's posts is
// chosen for being quick. Each probe's time runs from just before its request is sent to its
// arrival at each wall.
//
// Baseline, measured in the same run before the server starts: the classifier alone on the same
// texts in this process (posts/s, batches of 256): the model's own ceiling on this machine. The
// ratio of the server's sustained rate to it says how much of the model's speed the whole path keeps.
import { parseArgs } from 'node:util'
import { io, type Socket } from 'socket.io-client'
import { request } from 'undici'
import { loadClassifier } from '../../models/load.ts'
import { LIVE_POSTS_MS } from '../../pipelines/pipeline.ts'
import { LIVE_POSTS_PER_BRAND } from '../../pipelines/transforms/shortlist.ts'
import { startMain, exited } from '../../tests/support/main-process.ts'
import { tmpDir } from '../../tests/support/tmp.ts'
import { fmt, median, percentile } from './stats.ts'

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '15' },
    every: { type: 'string', default: '10' },
    model: { type: 'string', default: '' },
    threads: { type: 'string', default: '1' },
    // First fill the bounded memories (duplicate keys, recent posts, mentions waiting for replies)
    // at --fill-rate for --fill seconds, inside the warm-up: then the soak sees what a long run does.
    fill: { type: 'string', default: '0' },
    'fill-rate': { type: 'string', default: '2000' },
    // A server already running (SOURCES with webhook, this INGEST_TOKEN, rate limits off), instead of one started here.
    url: { type: 'string' },
    token: { type: 'string', default: 'bench-load-token-0123456789' },
    // Also a run without the intake journal first, as the baseline: the journal's cost, measured in the same run.
    'compare-journal': { type: 'boolean', default: false },
  },
})
const RATE = Number(args.rate)
const CLIENTS = Number(args.clients)
const SECONDS = Number(args.seconds)
const WARMUP = Number(args.warmup)
const EVERY = Number(args.every)
const TOKEN = args.token
const FILL = Number(args.fill)
const FILL_RATE = Number(args['fill-rate'])
const TICK_MS = 50
/** Load posts due by `s` seconds into the run. */
const dueBy = (s: number) => Math.floor(s < FILL ? s * FILL_RATE : FILL * FILL_RATE + (s - FILL) * RATE)
const PROBES_PER_S = 4

// Texts like the simulator's: a brand, a product, an opinion or a question, varied enough that no
// cache or tokeniser shortcut flatters the model.
const OPENERS = [
  'honestly',
  'ok so',
  'update:',
  'day 3 with it and',
  'not gonna lie',
  'friendly reminder that',
  'can someone tell me why',
  'hot take:',
  'just saw that',
  'quick question:',
]
const SUBJECTS = [
  'the battery on the new X2',
  'the camera app',
  'customer support',
  'the price of the Pro',
  'the firmware update',
  'shipping to Europe',
  'the screen',
  'the charger they sent',
  'the return policy',
  'the launch event',
]
const TAILS = [
  'is way better than I expected',
  'keeps crashing when I open it',
  'is fine I guess',
  'is a joke, refund please',
  'works but the fan is loud',
  'could use a dark mode',
  'how do I turn off autoupdate?',
  'beats the Nimbus one easily',
  'made my week',
  'still not here after two weeks',
]
const pick = <T>(a: readonly T[], i: number) => a[i % a.length]!
const loadText = (i: number) =>
  `${pick(OPENERS, i)} Lumen ${pick(SUBJECTS, Math.floor(i / 10))} ${pick(TAILS, Math.floor(i / 100) + i)} #${i % 97}`
const post = (id: string, text: string, at: number) =>
  JSON.stringify({
    id,
    source: 'webhook',
    url: '',
    author: {
      id: `u${id.length}${id.at(-1)}`,
      handle: `user${id.at(-2)}${id.at(-1)}`,
      displayName: 'Load',
      followers: 100,
    },
    text,
    lang: 'en',
    createdAt: new Date(at).toISOString(),
    engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
    brands: [],
    terms: [],
  })

/** From the server's /metrics: posts stored so far, its resident memory and JavaScript heap in use (bytes), and CPU time (seconds). */
async function scrape(url: string): Promise<{ stored: number; rss: number; heap: number; cpuS: number }> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN)
  return {
    stored: value(/^undertow_pipeline_events_total\{outcome="stored"\} (\d+)/m),
    rss: value(/^undertow_process_resident_memory_bytes (\S+)/m),
    heap: value(/^undertow_nodejs_heap_size_used_bytes (\S+)/m),
    cpuS: value(/^undertow_process_cpu_seconds_total (\S+)/m),
  }
}

// Baseline: the model alone.
const classifier = await loadClassifier(args.model, { threads: Number(args.threads) })
const texts = Array.from({ length: 256 }, (_, i) => loadText(i * 7919))
const rounds: number[] = []
for (let r = 0; r < 12; r++) {
  const t0 = performance.now()
  await classifier.classify(texts)
  if (r >= 2) rounds.push((256 * 1000) / (performance.now() - t0))
}
const modelRate = median(rounds)
console.log(
  `baseline: ${classifier.name} alone in this process, batches of 256: ${fmt(modelRate, 0)} posts/s (median of ${rounds.length})`,
)

/** One run of the server under the load; `journal: false` turns the intake journal off (SPOOL_MAX_BYTES=0). */
async function measure(journal: boolean): Promise<{ sustained: number; p50: number; p99: number; refused: number }> {
  const dir = tmpDir('bench-load')
  const server = args.url
    ? undefined
    : startMain({
        DATA_DIR: dir.path,
        ...(journal ? {} : { SPOOL_MAX_BYTES: '0' }),
        SOURCES: 'webhook',
        INGEST_TOKEN: TOKEN,
        SENTIMENT_MODEL: args.model,
        SENTIMENT_THREADS: args.threads,
        LOG_LEVEL: 'warn',
        INGEST_RATE_LIMIT_PER_MINUTE: '0',
        RATE_LIMIT_PER_MINUTE: '0',
      })
  const url = args.url ?? (await server!.url)
  console.log(
    `server: ${url}; ${CLIENTS} walls, ${fmt(RATE, 0)} posts/s offered for ${SECONDS} s after ${WARMUP} s of warm-up${FILL ? ` (its first ${FILL} s at ${fmt(FILL_RATE, 0)} posts/s, to fill the bounded memories)` : ''}`,
  )

  // The walls.
  const sentAt = new Map<string, number>()
  let latencies: number[] = []
  let pushedToOne = 0
  const walls: Socket[] = []
  for (let i = 0; i < CLIENTS; i++) {
    const wall = io(url, { transports: ['websocket'], reconnectionDelayMax: 5_000 })
    const first = i === 0
    wall.on('posts.added.v1', (posts: { id: string }[]) => {
      const now = performance.now()
      if (first) pushedToOne += posts.length
      for (const p of posts) {
        const sent = sentAt.get(p.id)
        if (sent !== undefined) latencies.push(now - sent)
      }
    })
    walls.push(wall)
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 200))
  }
  const connectedWithin = Date.now() + 60_000
  while (walls.some((w) => !w.connected) && Date.now() < connectedWithin) await new Promise((r) => setTimeout(r, 200))
  console.log(`walls connected: ${walls.filter((w) => w.connected).length} of ${CLIENTS}`)

  // The sender: keeps up with the clock, whatever a request costs, in requests of at most 2,000 posts.
  let sent = 0
  let probes = 0
  let refused = 0
  let inFlight = 0
  const started = performance.now()
  const sender = setInterval(() => {
    const due = dueBy((performance.now() - started) / 1000) - sent
    const probesDue = Math.floor(((performance.now() - started) / 1000) * PROBES_PER_S) - probes
    if (due <= 0 && probesDue <= 0) return
    const lines: string[] = []
    const now = Date.now()
    const ids: string[] = []
    for (let i = 0; i < Math.min(due, 2_000); i++) lines.push(post(`webhook:load-${sent + i}`, loadText(sent + i), now))
    for (let i = 0; i < probesDue; i++) {
      const id = `webhook:probe-${probes + i}`
      ids.push(id)
      lines.push(post(id, `Corvid ${pick(SUBJECTS, probes + i)} ${pick(TAILS, probes + i * 3)}`, now))
    }
    sent += Math.min(due, 2_000)
    probes += probesDue
    const at = performance.now()
    for (const id of ids) sentAt.set(id, at)
    inFlight++
    request(`${url}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${TOKEN}` },
      body: lines.join('\n'),
    })
      .then(async (res) => {
        await res.body.dump()
        if (res.statusCode !== 202) refused++
      })
      .catch(() => refused++)
      .finally(() => inFlight--)
  }, TICK_MS)

  const samples: {
    at: number
    stored: number
    storedRate: number
    pushedRate: number
    p50: number
    p99: number
    rssMb: number
    heapMb: number
    cpu: number
  }[] = []
  let last = { t: performance.now(), ...(await scrape(url)), pushed: 0 }
  /** Where the warm-up ended: the last sample within it. */
  let warm = { at: 0, stored: last.stored }
  const window: number[] = []
  console.log('\n   s   stored/s  pushed/s to a wall   p50 ms   p99 ms   RSS MiB   heap MiB   CPU %   in flight')
  for (let s = EVERY; s <= WARMUP + SECONDS; s += EVERY) {
    await new Promise((r) => setTimeout(r, Math.max(0, started + s * 1000 - performance.now())))
    const now = { t: performance.now(), ...(await scrape(url)), pushed: pushedToOne }
    const dt = (now.t - last.t) / 1000
    const sample = {
      at: s,
      stored: now.stored,
      storedRate: (now.stored - last.stored) / dt,
      pushedRate: (now.pushed - last.pushed) / dt,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      rssMb: now.rss / 2 ** 20,
      heapMb: now.heap / 2 ** 20,
      cpu: ((now.cpuS - last.cpuS) / dt) * 100,
    }
    if (s > WARMUP) window.push(...latencies)
    else warm = { at: s, stored: now.stored }
    latencies = []
    samples.push(sample)
    console.log(
      `${String(s).padStart(4)}   ${fmt(sample.storedRate, 0).padStart(7)}   ${fmt(sample.pushedRate, 0).padStart(18)}   ${fmt(sample.p50, 0).padStart(6)}   ${fmt(sample.p99, 0).padStart(6)}   ${fmt(sample.rssMb, 0).padStart(7)}   ${fmt(sample.heapMb, 0).padStart(8)}   ${fmt(sample.cpu, 0).padStart(5)}   ${inFlight}`,
    )
    last = now
  }
  clearInterval(sender)

  const measured = samples.filter((s) => s.at > WARMUP)
  const first = measured[0]!
  const lastSample = samples.at(-1)!
  const sustained = (lastSample.stored - warm.stored) / (lastSample.at - warm.at)
  const rss = measured.map((s) => s.rssMb)
  console.log(`
offered           ${fmt(RATE, 0)} posts/s (+${PROBES_PER_S} probes/s); requests refused or failed: ${refused}
sustained         ${fmt(sustained, 0)} posts/s stored over ${lastSample.at - warm.at} s (ratio to the offered rate ${fmt(sustained / RATE, 2)}; to the model alone ${fmt(sustained / modelRate, 2)})
pushed to a wall  ${fmt(median(measured.map((s) => s.pushedRate)), 0)} posts/s (median; by design at most ${LIVE_POSTS_PER_BRAND * (1000 / LIVE_POSTS_MS)} a second of each brand: the load, and the probes of another)
latency           p50 ${fmt(percentile(window, 50), 0)} ms, p99 ${fmt(percentile(window, 99), 0)} ms, ingest to wall, ${window.length} probe arrivals at ${CLIENTS} walls
server RSS        median ${fmt(median(rss), 0)} MiB, max ${fmt(Math.max(...rss), 0)} MiB; last/first after warm-up ${fmt(lastSample.rssMb / first.rssMb, 2)}
server heap       first after warm-up ${fmt(first.heapMb, 0)} MiB, last ${fmt(lastSample.heapMb, 0)} MiB (ratio ${fmt(lastSample.heapMb / first.heapMb, 2)}; in use, between collections)
server CPU        median ${fmt(median(measured.map((s) => s.cpu)), 0)} % (of one core; 200 % is both)`)

  for (const wall of walls) wall.close()
  if (server) {
    server.child.kill('SIGTERM')
    await exited(server.child)
  }
  dir.remove()
  return { sustained, p50: percentile(window, 50), p99: percentile(window, 99), refused }
}

// With --compare-journal, first a run without the intake journal (the baseline), then one with it.
const results: { journal: boolean; sustained: number; p50: number; p99: number; refused: number }[] = []
for (const journal of args['compare-journal'] ? [false, true] : [true]) {
  console.log(`\n== ${journal ? 'with the intake journal' : 'without the intake journal (SPOOL_MAX_BYTES=0)'} ==`)
  results.push({ journal, ...(await measure(journal)) })
}
if (results.length === 2) {
  const [off, on] = results as [(typeof results)[0], (typeof results)[0]]
  console.log(
    `\njournal on/off   sustained ${fmt(on.sustained, 0)} / ${fmt(off.sustained, 0)} posts/s (ratio ${fmt(on.sustained / off.sustained, 2)}); p50 ${fmt(on.p50, 0)} / ${fmt(off.p50, 0)} ms; p99 ${fmt(on.p99, 0)} / ${fmt(off.p99, 0)} ms (ratio ${fmt(on.p99 / off.p99, 2)})`,
  )
}
process.exit(0)
