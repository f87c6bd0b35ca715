// GET /healthz: is the process up, and what does it run on. 200 while the store answers.
import type { FastifyPluginAsync } from 'fastify'
import type { Store } from '../../pipelines/store/store.ts'

export interface HealthInfo {
  classifier: string
  /** Whether the classifier can score now (its thread is running); always, without a thread. */
  classifierReady?: () => boolean
  sources: string[]
  /** How long a live source may be disconnected before /readyz says not ready (default 30 s). */
  sourceGraceMs?: number
  stats: () => object
  /** Whether this process's work has started (default: the pipeline's counters are there). */
  running?: () => boolean
  /** Further reasons this process is not ready (the bus is disconnected), if any. */
  problems?: () => string[]
}

export const healthRoutes: FastifyPluginAsync<{ store: Store; info: HealthInfo }> = async (app, { store, info }) => {
  app.get('/healthz', async (_request, reply) => {
    const storeUp = await store.ping()
    return reply.status(storeUp ? 200 : 503).send({
      status: storeUp ? 'ok' : 'degraded',
      store: { mode: store.mode, up: storeUp, ...(store.recounts ? { recounts: store.recounts } : {}) },
      classifier: info.classifier,
      sources: info.sources,
      pipeline: info.stats(),
    })
  })
}
