// GET /healthz: liveness. 200 whenever the process answers, with what it runs on and how its store
// is (`status: degraded` while the store does not answer): a process spooling through a ClickHouse
// outage is alive and must not be restarted. Whether to send it traffic is /readyz's to say.
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

/** Longest /healthz waits for the store: a liveness probe's own timeout is short (Kubernetes: 1 s by default). */
export const HEALTH_PING_MS = 500

/** The store's answer to a ping, or 'slow' when none came within `ms` (a store that hangs). */
async function pingWithin(store: Store, ms: number): Promise<boolean | 'slow'> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'slow'>((resolve) => (timer = setTimeout(() => resolve('slow'), ms)))
  try {
    return await Promise.race([store.ping(), late])
  } finally {
    clearTimeout(timer)
  }
}

export const healthRoutes: FastifyPluginAsync<{ store: Store; info: HealthInfo }> = async (app, { store, info }) => {
  app.get('/healthz', async () => {
    const ping = await pingWithin(store, HEALTH_PING_MS)
    const storeUp = ping === true
    return {
      status: storeUp ? 'ok' : 'degraded',
      store: {
        mode: store.mode,
        up: storeUp,
        ...(ping === 'slow' ? { slow: `no answer within ${HEALTH_PING_MS} ms` } : {}),
        ...(store.recounts ? { recounts: store.recounts } : {}),
      },
      classifier: info.classifier,
      sources: info.sources,
      pipeline: info.stats(),
    }
  })
}
