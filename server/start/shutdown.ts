// The graceful stop: on SIGINT/SIGTERM (or a pipeline that failed) the sources stop, everything
// accepted is flushed to the store, the walls are told, and the process exits; a second signal
// exits at once.
import type { FastifyInstance } from 'fastify'
import type { WebhookSink } from '../../pipelines/sinks/webhook.ts'

/**
 * Longest a graceful stop may take before the process exits anyway: past one write to a store that
 * hangs (its request timeout, with retries); what is still in memory then is on disk already.
 */
export const SHUTDOWN_TIMEOUT_MS = 45_000
/** How long requests still in flight may take once the server closes, before their connections are cut. */
const CLOSE_GRACE_MS = 5_000

export interface StopParts {
  app: FastifyInstance
  /** The run (server/run.ts): stopped first, its summary logged last. */
  run: { stop(): Promise<void>; summary(): string }
  webhooks: WebhookSink
  /** Called first: what must refuse new work (the webhook source, retention, acknowledgements). */
  refuseNew: () => void
  /** Closed last, in this order, whatever happened before. */
  close: readonly ({ close(): Promise<unknown> } | undefined)[]
}

export interface GracefulStop {
  (reason: string, code: number): Promise<void>
  /** Whether a stop has begun. */
  readonly begun: boolean
}

export function gracefulStop(parts: StopParts): GracefulStop {
  const { app, run, webhooks } = parts
  let stopping = false
  const stop = async (reason: string, code: number) => {
    if (stopping) return
    stopping = true
    app.log.info(`${reason}: stopping sources and flushing to the store`)
    setTimeout(() => {
      app.log.error(`still stopping after ${SHUTDOWN_TIMEOUT_MS} ms; exiting`)
      process.exit(1)
    }, SHUTDOWN_TIMEOUT_MS).unref()
    try {
      parts.refuseNew()
      await run.stop()
      // Alerts and team posts still on their way out get the rest of the deadline.
      await Promise.race([webhooks.idle(), new Promise((r) => setTimeout(r, SHUTDOWN_TIMEOUT_MS / 4))])
      webhooks.abandon()
      app.log.info('closing the server: the walls are told, their connections closed')
      // Requests still in flight get a few seconds. A browser's keep-alive connection can outlive
      // the close of idle ones (seen with Chromium under load) and would hold the close open until
      // the deadline, so whatever is left then is cut.
      const cut = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS).unref()
      await app.close()
      clearTimeout(cut)
      app.log.info(`stopped; ${run.summary()}`)
    } finally {
      // What requests wrote to the journal after the pipeline stopped is on disk for the next start.
      for (const part of parts.close) await part?.close()
      process.exit(code)
    }
  }
  return Object.defineProperty(stop, 'begun', { get: () => stopping }) as GracefulStop
}

/** SIGINT and SIGTERM stop gracefully; a second signal means "now": the first is already flushing. */
export function stopOnSignals(stop: GracefulStop): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stop.begun) process.exit(130)
      void stop(signal, 0)
    })
  }
}
