// The recount lock on a real NATS server: of two processes (two connections), one holds it at a
// time; a release lets the other in; a holder that dies lets it go when its lease ends, and then
// cannot touch the next holder's.
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { Kvm } from '@nats-io/kv'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { RECOUNT_BUCKET, recountLock } from '../../pipelines/bus/recount-lock.ts'
import { describeWithNats, useNatsServer } from '../support/nats-server.ts'

describeWithNats('the recount lock', () => {
  const nats = useNatsServer('recount-lock')
  const connections: NatsConnection[] = []
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) connections.push(await connect({ servers: nats.url() }))
  })
  afterAll(async () => {
    for (const nc of connections) await nc.close()
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

  it('renews while held, and once lost to its lease, neither renews nor releases the next holder\'s', async () => {
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

  it('holds its key with a lease, so that a holder that dies does not keep it', async () => {
    const kv = await new Kvm(connections[0]!).open(RECOUNT_BUCKET)
    const status = await kv.status()
    expect(status.ttl).toBeGreaterThan(0)
    expect(status.ttl).toBeLessThanOrEqual(5 * 60_000)
  })
})
