// One recount at a time among the processes that write the same store (recount.ts): a key in a
// JetStream key-value bucket, created only when absent (the server decides, atomically), with a
// time to live, so that a holder that dies does not keep it.
import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { RecountLock } from '../store/recount.ts'

export const RECOUNT_BUCKET = 'undertow_recount'
/** Longer than any recount: a few minutes of minutes after a crash take seconds. */
const LEASE_MS = 15 * 60_000

export async function recountLock(nc: NatsConnection): Promise<RecountLock> {
  const kv = await new Kvm(nc).create(RECOUNT_BUCKET, { ttl: LEASE_MS, history: 1 })
  return {
    async acquire() {
      try {
        await kv.create('lock', String(process.pid))
        return true
      } catch {
        // Held by another process (or the bus is down): the recount is tried again later.
        return false
      }
    },
    async release() {
      await kv.delete('lock')
    },
  }
}
