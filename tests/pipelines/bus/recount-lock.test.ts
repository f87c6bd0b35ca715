// The recount lock on a real NATS server: of two processes (two connections), one holds it at a
// time; a release lets the other in; a holder that dies lets it go when its lease ends, and then
// cannot touch the next holder's.
import { jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { LEASE_MS, RECOUNT_BUCKET, recountLock } from '../../../pipelines/bus/recount-lock.ts'
import { describeWithNats, useNatsServer } from '../../support/nats-server.ts'

describeWithNats('the recount lock', () => {
  const nats = useNatsServer('recount-lock')
  const connections: NatsConnection[] = []
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) connections.push(await connect({ servers: nats.url() }))
  })
  afterAll(async () => {
    for (const nc of connections) await nc.close()
  })

  it('is made once when processes start together: none fails for the bucket another just made', async () => {
    const jsm = await jetstreamManager(connections[0]!)
    for (let round = 0; round < 20; round++) {
      await jsm.streams.delete(`KV_${RECOUNT_BUCKET}`).catch(() => false)
      const locks = await Promise.all(
        [...connections, ...connections, ...connections, ...connections].map((nc) => recountLock(nc)),
      )
      expect(locks).toHaveLength(8)
    }
  })

  it('is held by one process at a time', async () => {
    const [a, b] = await Promise.all(connections.map((nc) => recountLock(nc)))
    expect(await a!.acquire()).toBe(true)
    expect(await b!.acquire()).toBe(false)
    expect(await a!.acquire()).toBe(false)
    await a!.release()
    expect(await b!.acquire()).toBe(true)
    expect(await a!.acquire()).toBe(false)
    await b!.release()
  })

  it("renews while held, and once lost to its lease, neither renews nor releases the next holder's", async () => {
    const [a, b] = await Promise.all(connections.map((nc) => recountLock(nc)))
    expect(await a!.acquire()).toBe(true)
    expect(await a!.renew()).toBe(true)
    expect(await b!.acquire()).toBe(false)
    // The lease ran out (as a purge of the key does at once): b takes the lock.
    const kv = await new Kvm(connections[0]!).open(RECOUNT_BUCKET)
    await kv.purge('lock')
    expect(await b!.acquire()).toBe(true)
    expect(await a!.renew()).toBe(false)
    await a!.release()
    expect(await a!.acquire()).toBe(false)
    expect(await b!.renew()).toBe(true)
    await b!.release()
    expect(await a!.acquire()).toBe(true)
    await a!.release()
  })

  it('holds its key with a lease, and brings a bucket made with another lease to its own', async () => {
    const kv = await new Kvm(connections[0]!).open(RECOUNT_BUCKET)
    expect((await kv.status()).ttl).toBe(LEASE_MS)
    // A bucket an older version made, with a five-minute lease.
    const jsm = await jetstreamManager(connections[0]!)
    await jsm.streams.update(`KV_${RECOUNT_BUCKET}`, {
      max_age: nanos(5 * 60_000),
      duplicate_window: nanos(2 * 60_000),
    })
    expect((await kv.status()).ttl).toBe(5 * 60_000)
    await recountLock(connections[0]!)
    expect((await kv.status()).ttl).toBe(LEASE_MS)
  })

  it('is free again once the lease of a holder that died has run out', async () => {
    const dying = await connect({ servers: nats.url() })
    const held = await recountLock(dying, 2_000)
    const other = await recountLock(connections[1]!, 2_000)
    expect(await held.acquire()).toBe(true)
    // Killed mid-recount: it neither renews nor releases.
    await dying.close()
    expect(await other.acquire()).toBe(false)
    const since = Date.now()
    await expect.poll(() => other.acquire(), { timeout: 10_000, interval: 200 }).toBe(true)
    expect(Date.now() - since).toBeGreaterThan(500)
    await other.release()
  })
})
