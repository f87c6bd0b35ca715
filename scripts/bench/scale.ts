// npm run bench:scale [-- --posts 20000 --runs 3 --model <SENTIMENT_MODEL> --rate 200 --seconds 20 --only throughput|latency]
//
// Scale-out on this machine: nats-server (JetStream) and clickhouse-server started here, worker
// processes (`server/main.ts`, ROLES=worker, the bundled model with one ONNX thread each unless
// --model says otherwise) sharing the bus's consumer.
//
// Throughput: with 1 worker, then 2 (alternating, --runs times each, on a fresh database and fresh
// streams). This process first publishes --posts simulated posts (and their engagement) as ingest
// does; then the workers start, and the time runs from when all are ready (models loaded) until
// the bus has nothing left unacknowledged. Printed: posts/s stored per run, with the cores each
// part kept busy (from /proc), the medians, and the ratio of 2 workers to 1 (the baseline,
// measured in the same run); and how fast ingest published.
//
// The bus's added latency: one worker and the live process, events published at a steady --rate
// for --seconds. Each worker notes how long each event waited from its publish to its delivery
// (hop to_worker), and the live process how long each worker's record waited from its publish to
// its release in arrival order (hop to_live, the wait for its turn included). Printed: p50 and p99
// of each, from the processes' /metrics histograms (interpolated within a bucket, as Prometheus's
// histogram_quantile does).
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { jetstreamManager } from '@nats-io/jetstream'
import { concatMap, from, interval, lastValueFrom, map, takeUntil, takeWhile, timer, toArray } from 'rxjs'
import { BUS_CONSUMER, BUS_STREAM, openBus, SETTLED_STREAM } from '../../pipelines/bus/nats.ts'
import { startIngest } from '../../pipelines/bus/roles.ts'
import type { SourceEvent } from '../../pipelines/schema.ts'
import { MemoryDeadLetter } from '../../pipelines/sinks/deadletter.ts'
import { simulatorSource } from '../../pipelines/sources/simulator.ts'
import { launchDay } from '../../pipelines/sources/simulator/scenario.ts'
import { ServerStore } from '../../pipelines/store/server.ts'
import { ClickHouseServerProcess } from '../../tests/support/clickhouse-server.ts'
import { tracking } from '../../tests/support/fixtures.ts'
import { exited, startMain } from '../../tests/support/main-process.ts'
import { NatsServerProcess } from '../../tests/support/nats-server.ts'
import { tmpDir } from '../../tests/support/tmp.ts'
import { fmt, median } from './stats.ts'

const { values: args } = parseArgs({
  options: {
    posts: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    model: { type: 'string', default: '' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '20' },
    only: { type: 'string', default: '' },
  },
})
const POSTS = Number(args.posts)
const RUNS = Number(args.runs)

/** The simulated launch day's events, from its start, until `posts` posts (with their engagement and deletions). */
async function simulated(posts: number, seed: number): Promise<SourceEvent[]> {
  const scenario = launchDay({
    brand: 'Lumen',
    competitors: ['Corvid', 'Nimbus'],
    start: new Date(Date.now() - 6 * 3_600_000).toISOString(),
  })
  let n = 0
  return lastValueFrom(
    simulatorSource({ scenario, seed, speed: Number.POSITIVE_INFINITY }).pipe(
      takeWhile((e) => e.kind !== 'post' || ++n <= posts),
      toArray(),
    ),
  )
}

/** A histogram's cumulative bucket counts, by upper bound. */
function buckets(text: string, name: string, label: string): Map<number, number> {
  return new Map(
    [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)",${label}\\} (\\d+)`, 'gm'))].map((m) => [
      m[1] === '+Inf' ? Infinity : Number(m[1]),
      Number(m[2]),
    ]),
  )
}

/**
 * The value below which a fraction `q` of the observations made between two scrapes of a
 * Prometheus histogram fall, interpolated within its bucket (as histogram_quantile does).
 */
function quantile(before: string, after: string, name: string, label: string, q: number): number {
  const start = buckets(before, name, label)
  const counts = [...buckets(after, name, label)].map(([le, n]) => ({ le, n: n - (start.get(le) ?? 0) }))
  const total = counts.at(-1)?.n ?? 0
  if (total === 0) return Number.NaN
  const rank = q * total
  let lower = 0
  let below = 0
  for (const b of counts) {
    if (b.n >= rank)
      return b.le === Infinity ? lower : lower + ((b.le - lower) * (rank - below)) / Math.max(1, b.n - below)
    lower = b.le
    below = b.n
  }
  return lower
}

/** CPU seconds (user and system) a process has used so far, from /proc; 0 where there is none. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

/** Seconds of the steady phase before its latency is measured. */
const WARMUP_S = 5

const root = tmpDir('bench-scale')
const clickhouse = await ClickHouseServerProcess.create(join(root.path, 'clickhouse'))
await clickhouse.start()
mkdirSync(join(root.path, 'nats'), { recursive: true })
const nats = await NatsServerProcess.start(join(root.path, 'nats'))
const children: ReturnType<typeof startMain>[] = []
/** Each phase on fresh streams: the last one's backlog and records are gone, and places start again at 1. */
const freshStreams = async () => {
  const manager = await openBus({ url: nats.url, ackWaitMs: 30_000 })
  const jsm = await jetstreamManager(manager.nc)
  for (const stream of [BUS_STREAM, SETTLED_STREAM]) await jsm.streams.delete(stream).catch(() => {})
  await manager.close()
}
const stopAll = async () => {
  for (const c of children.splice(0)) {
    c.child.kill('SIGTERM')
    await exited(c.child)
  }
}

const workerEnv = (db: string, i: number) => ({
  ROLES: 'worker',
  BUS_URL: nats.url,
  CLICKHOUSE_URL: clickhouse.url,
  CLICKHOUSE_DATABASE: db,
  SENTIMENT_MODEL: args.model,
  SENTIMENT_THREADS: '1',
  DATA_DIR: join(root.path, `${db}-worker-${i}`),
  LOG_LEVEL: 'warn',
})

try {
  const events = await simulated(POSTS, 7)
  const posts = events.filter((e) => e.kind === 'post').length
  console.log(
    `bench:scale: ${posts} posts (${events.length} events with their engagement), model ${args.model || 'bundled'}, ${RUNS} runs each, on ${(await import('node:os')).cpus().length} cores`,
  )

  const rates: Record<number, number[]> = { 1: [], 2: [] }
  const publishRates: number[] = []
  for (let run = 1; run <= (args.only === 'latency' ? 0 : RUNS); run++) {
    for (const workers of [1, 2]) {
      const db = `scale_${workers}_${run}`
      await freshStreams()
      const store = new ServerStore({ url: clickhouse.url, database: db })
      await store.migrate()
      const bus = await openBus({ url: nats.url, ackWaitMs: 30_000 })
      // The backlog first, as ingest would have published it while the workers were away: the
      // publisher's own cost stays out of the workers' figures.
      const p0 = performance.now()
      const ingest = startIngest({
        bus,
        sources: [{ name: 'simulator', events$: from(events) }],
        tracking,
        deadLetter: new MemoryDeadLetter(),
      })
      await ingest.done
      publishRates.push(ingest.stats.published / ((performance.now() - p0) / 1000))
      const started = Array.from({ length: workers }, (_, i) => startMain(workerEnv(db, i)))
      children.push(...started)
      const cpu = () => ({
        workers: started.reduce((n, w) => n + cpuSeconds(w.child.pid), 0),
        clickhouse: cpuSeconds(clickhouse.pid),
        nats: cpuSeconds(nats.pid),
      })
      // Timed from when every worker is ready (its model loaded) to the last acknowledgement: what
      // the first ones stored before is left out.
      await Promise.all(started.map((w) => w.url))
      const count = async () => Number((await store.select<{ n: string }>('SELECT count() AS n FROM posts'))[0]!.n)
      const before = await count()
      const cpu0 = cpu()
      const t0 = performance.now()
      const jsmBus = await jetstreamManager(bus.nc)
      for (;;) {
        const info = await jsmBus.consumers.info(BUS_STREAM, BUS_CONSUMER)
        if (info.num_pending + info.num_ack_pending === 0) break
        await new Promise((r) => setTimeout(r, 50))
      }
      const seconds = (performance.now() - t0) / 1000
      const cpu1 = cpu()
      const used = Object.fromEntries(Object.entries(cpu1).map(([k, v]) => [k, v - cpu0[k as keyof typeof cpu0]]))
      const stored = (await count()) - before
      const rate = stored / seconds
      rates[workers]!.push(rate)
      const cores = (k: string) => fmt(used[k]! / seconds, 2)
      console.log(
        `  run ${run}, ${workers} worker${workers > 1 ? 's' : ''}: ${stored} posts stored in ${fmt(seconds, 2)} s once all were ready: ${fmt(rate, 0)} posts/s; cores busy: workers ${cores('workers')}, ClickHouse ${cores('clickhouse')}, NATS ${cores('nats')}`,
      )
      await stopAll()
      await bus.close()
      await store.close()
    }
  }
  const one = median(rates[1]!)
  const two = median(rates[2]!)
  if (args.only !== 'latency') {
    console.log(
      `throughput (median of ${RUNS}): 1 worker ${fmt(one, 0)} posts/s, 2 workers ${fmt(two, 0)} posts/s, ratio 2/1 ${fmt(two / one, 2)}`,
    )
    console.log(
      `ingest's publishing (relate, then JetStream with acknowledgements), median: ${fmt(median(publishRates), 0)} events/s`,
    )
  }

  // The bus's added latency, at a steady rate.
  if (args.only !== 'throughput') await latency()
} finally {
  await stopAll()
  await nats.stop()
  await clickhouse.stop()
  root.remove()
}

async function latency() {
  const db = 'scale_latency'
  await freshStreams()
  const store = new ServerStore({ url: clickhouse.url, database: db })
  await store.migrate()
  const worker = startMain(workerEnv(db, 0))
  const live = startMain({ ...workerEnv(db, 9), ROLES: 'live,web' })
  children.push(worker, live)
  const [workerUrl, liveUrl] = await Promise.all([worker.url, live.url])
  const bus = await openBus({ url: nats.url, ackWaitMs: 30_000 })
  const steady = await simulated(Number(args.rate) * Number(args.seconds), 8)
  const perTick = Math.max(1, Math.round(Number(args.rate) / 20))
  const paced$ = interval(50).pipe(
    map((i) => steady.slice(i * perTick, (i + 1) * perTick)),
    takeUntil(timer(Number(args.seconds) * 1000)),
    concatMap((slice) => from(slice)),
  )
  const ingest = startIngest({
    bus,
    sources: [{ name: 'simulator', events$: paced$ }],
    tracking,
    deadLetter: new MemoryDeadLetter(),
  })
  // The first seconds are left out: the live process gathers the first records before its order starts.
  const scrape = () =>
    Promise.all([
      fetch(`${workerUrl}/metrics`).then((r) => r.text()),
      fetch(`${liveUrl}/metrics`).then((r) => r.text()),
    ])
  await new Promise((r) => setTimeout(r, WARMUP_S * 1000))
  const before = await scrape()
  await ingest.done
  await new Promise((r) => setTimeout(r, 3_000))
  const after = await scrape()
  const ms = (i: 0 | 1, hop: string, q: number) =>
    fmt(1000 * quantile(before[i], after[i], 'undertow_bus_wait_seconds', `hop="${hop}"`, q), 1)
  console.log(
    `bus latency at ${args.rate} events/s for ${args.seconds} s (${ingest.stats.published} events): after ${WARMUP_S} s: to the worker p50 ${ms(0, 'to_worker', 0.5)} ms, p99 ${ms(0, 'to_worker', 0.99)} ms; the record to the live figures, in order, p50 ${ms(1, 'to_live', 0.5)} ms, p99 ${ms(1, 'to_live', 0.99)} ms`,
  )
  await bus.close()
  await store.close()
}
