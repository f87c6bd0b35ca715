// One recount at a time among the processes that write the same store (recount.ts): a key in a
// JetStream key-value bucket, created only when absent (the server decides, atomically), with a
// time to live renewed as the recount goes, so that a holder that dies does not keep it.
import { randomUUID } from 'node:crypto'
import { jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { type NatsConnection, nanos } from '@nats-io/transport-node'
import type { RecountLock } from '../store/recount.ts'

export const RECOUNT_BUCKET = 'undertow_recount'
const KEY = 'lock'
/**
 * How long the lock outlives its last renewal: how long a worker killed mid-recount keeps the
 * others from recounting. A recount renews it at every take and again before it adds, and an add
 * is one insert (its client gives up within 10 s), so the lease never runs out under an add.
 */
export const LEASE_MS = 30_000

/** The bucket, made if absent. Processes that start together race to make it: the ones that lose open it. */
async function bucket(nc: NatsConnection, leaseMs: number) {
  const kvm = new Kvm(nc)
  try {
    return await kvm.create(RECOUNT_BUCKET, { ttl: leaseMs, history: 1 })
  } catch (error) {
    // "subjects overlap with an existing stream": another process made it meanwhile. Anything
    // else (the bus is down) fails the open as well, and is thrown from there.
    return await kvm.open(RECOUNT_BUCKET).catch(() => {
      throw error
    })
  }
}

export async function recountLock(nc: NatsConnection, leaseMs = LEASE_MS): Promise<RecountLock> {
  const kv = await bucket(nc, leaseMs)
  // A bucket made by an older version (or with another lease) keeps its own: set it to this one.
  if ((await kv.status()).ttl !== leaseMs)
    await (await jetstreamManager(nc)).streams.update(`KV_${RECOUNT_BUCKET}`, {
      max_age: nanos(leaseMs),
      duplicate_window: nanos(leaseMs),
    })
  // Whose lock it is (a pid is 1 in every container) and at which revision this process holds it:
  // renewing and releasing both name that revision, so a lock lost to its lease is never touched.
  const token = randomUUID()
  let revision: number | undefined
  return {
    async acquire() {
      try {
        revision = await kv.create(KEY, token)
        return true
      } catch {
        // Held by another process (or the bus is down): the recount is tried again later.
        return false
      }
    },
    async renew() {
      if (revision === undefined) return false
      try {
        revision = await kv.update(KEY, token, revision)
        return true
      } catch {
        revision = undefined
        return false
      }
    },
    async release() {
      if (revision === undefined) return
      const held = revision
      revision = undefined
      await kv.delete(KEY, { previousSeq: held })
    },
  }
}
