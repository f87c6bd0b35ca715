// socket.io across processes: the Redis adapter (with Redis's own client), so that the live
// process's pushes reach the walls on every web process, and acknowledgements reach the live one.
import { createAdapter } from '@socket.io/redis-adapter'
import { createClient } from 'redis'
import { redactAddress, redactUrl } from '../pipelines/redact.ts'
import type { SocketAdapter } from './plugins/socketio.ts'

/** How long a request to the other servers (an acknowledgement) waits for their answers. */
export const CLUSTER_REQUEST_MS = 5_000

export async function redisAdapter(
  url: string,
  onError: (error: Error) => void,
): Promise<{ adapter: SocketAdapter; connected: () => boolean; close: () => Promise<void> }> {
  // The address is a setting (redactAddress hides even a malformed one's credentials); the
  // library's message may quote it too.
  const failed = (error: unknown) => {
    const invalid =
      (error as { code?: unknown }).code === 'ERR_INVALID_URL'
        ? ' (a password with / # ? in it must be percent-encoded)'
        : ''
    return new Error(
      `cannot reach Redis at ${redactAddress(url)}: ${redactUrl(error instanceof Error ? error.message : String(error))}${invalid}`,
    )
  }
  let pub: ReturnType<typeof createClient>
  try {
    pub = createClient({ url })
  } catch (error) {
    throw failed(error)
  }
  const sub = pub.duplicate()
  // Redis's client reconnects by itself; its errors are told, not thrown.
  pub.on('error', onError)
  sub.on('error', onError)
  // The adapter publishes without waiting for the answer (no catch): a publish in flight when
  // Redis goes away rejects (EPIPE), and unhandled that would end the process. Told instead.
  const publish = pub.publish.bind(pub) as (...args: unknown[]) => Promise<number>
  ;(pub as unknown as { publish: (...args: unknown[]) => Promise<number> }).publish = (...args) =>
    publish(...args).catch((error: unknown) => {
      onError(error instanceof Error ? error : new Error(String(error)))
      return 0
    })
  try {
    await Promise.all([pub.connect(), sub.connect()])
  } catch (error) {
    await Promise.allSettled([pub.disconnect(), sub.disconnect()])
    throw failed(error)
  }
  return {
    adapter: createAdapter(pub, sub, { requestsTimeout: CLUSTER_REQUEST_MS }) as SocketAdapter,
    connected: () => pub.isReady && sub.isReady,
    close: async () => {
      // QUIT waits for an answer: with Redis gone it would wait for its return. Cut instead.
      await Promise.allSettled([pub, sub].map((c) => (c.isReady ? c.quit() : c.isOpen ? c.disconnect() : undefined)))
    },
  }
}
