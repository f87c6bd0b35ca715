// GET /metrics: Prometheus text format (prom-client), read at scrape time from the same figures as
// /healthz: the pipeline's events by what became of them, dead letters by stage, the spool by
// table, outbound webhooks, connected walls, and the process (CPU, memory, event-loop lag).
// GET /readyz: 200 once the store answers and the pipeline runs; 503 with what is missing before
// that (a load balancer sends no traffic to an instance still loading or cut off from its store).
import type { FastifyPluginAsync } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { Store } from '../../pipelines/store/store.ts'
import type { HealthInfo } from './health.ts'

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const numbers = (v: unknown) => (isRecord(v) ? Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number') : [])

export const observabilityRoutes: FastifyPluginAsync<{ store: Store; info: HealthInfo; clients: () => number }> = async (app, { store, info, clients }) => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'undertow_' })
  const stats = () => info.stats() as Record<string, unknown>
  const registers = [registry]

  new Counter({
    name: 'undertow_pipeline_events_total',
    help: 'Events through the pipeline by what became of them: received, untracked, scored, stored, late, duplicates, deletions, alerts, ...',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset()
      for (const [outcome, n] of numbers(stats())) this.inc({ outcome }, n)
    },
  })
  new Counter({
    name: 'undertow_dead_letters_total',
    help: 'Records refused and kept in the dead-letter file, by stage',
    labelNames: ['stage'],
    registers,
    collect() {
      this.reset()
      for (const [stage, n] of numbers(stats().deadLetter)) this.inc({ stage }, n)
    },
  })
  const spool = (what: 'batches' | 'bytes', help: string) =>
    new Gauge({
      name: `undertow_spool_${what}`,
      help,
      labelNames: ['table'],
      registers,
      collect() {
        this.reset()
        const tables = stats().spool
        if (isRecord(tables)) for (const [table, s] of Object.entries(tables)) if (isRecord(s) && typeof s[what] === 'number') this.set({ table }, s[what])
      },
    })
  spool('batches', 'Batches waiting on disk for the store (an outage, or a crash, left them)')
  spool('bytes', 'Bytes waiting on disk for the store')
  new Counter({
    name: 'undertow_webhook_messages_total',
    help: 'Outbound webhook messages (alerts, team feeds) by target and outcome',
    labelNames: ['target', 'outcome'],
    registers,
    collect() {
      this.reset()
      const hooks = stats().webhooks
      if (isRecord(hooks)) for (const [target, s] of Object.entries(hooks)) for (const [outcome, n] of numbers(s)) this.inc({ target, outcome }, n)
    },
  })
  new Gauge({
    name: 'undertow_socket_clients',
    help: 'Walls (socket.io clients) connected now',
    registers,
    collect() {
      this.set(clients())
    },
  })

  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()))

  app.get('/readyz', async (_request, reply) => {
    const storeUp = await store.ping()
    const running = typeof stats().received === 'number'
    const missing = [...(storeUp ? [] : ['the store does not answer']), ...(running ? [] : ['the pipeline has not started'])]
    return reply.status(missing.length === 0 ? 200 : 503).send({ ready: missing.length === 0, classifier: info.classifier, ...(missing.length ? { missing } : {}) })
  })
}
