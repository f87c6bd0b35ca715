// The bus's parts on their own: the order the live figures are put back in, when a worker
// acknowledges, and what the bus's messages may hold.
import { describe, expect, it } from 'vitest'
import { readRelated, readSettled } from '../../pipelines/bus/messages.ts'
import { chunkRecords, subjectOf } from '../../pipelines/bus/nats.ts'
import { Resequencer } from '../../pipelines/bus/resequence.ts'
import { type SettledRecord, Settlement } from '../../pipelines/bus/settlement.ts'
import type { ScoredPost } from '../../pipelines/schema.ts'

function order(startMs = 1_000, gapMs = 5_000) {
  const released: number[] = []
  const dropped: number[] = []
  const r = new Resequencer<string>((_item, seq) => released.push(seq), (_item, seq) => dropped.push(seq), { startMs, gapMs })
  return { r, released, dropped }
}

describe('Resequencer', () => {
  it('gathers the first moments, then releases strictly in order whatever order records come in', () => {
    const { r, released } = order()
    r.add(3, 'c', 0)
    r.add(1, 'a', 10)
    r.tick(500)
    expect(released).toEqual([])
    r.tick(1_000)
    expect(released).toEqual([1])
    r.add(5, 'e', 1_100)
    r.add(2, 'b', 1_200)
    expect(released).toEqual([1, 2, 3])
    r.add(4, 'd', 1_300)
    expect(released).toEqual([1, 2, 3, 4, 5])
    expect(r.size).toBe(0)
  })

  it('releases a record that comes twice once', () => {
    const { r, released, dropped } = order(0)
    r.add(1, 'a', 0)
    r.tick(0)
    r.add(3, 'c', 1)
    r.add(3, 'c again', 2)
    r.add(1, 'a again', 3)
    r.add(2, 'b', 4)
    expect(released).toEqual([1, 2, 3])
    expect(dropped).toEqual([3, 1])
    expect(r.counts).toMatchObject({ released: 3, duplicates: 2 })
  })

  it('passes over a place whose record is overdue, and releases it late if it comes after all', () => {
    const { r, released } = order(0, 5_000)
    r.add(1, 'a', 0)
    r.tick(0)
    r.add(3, 'c', 100)
    r.add(4, 'd', 200)
    r.tick(4_000)
    expect(released).toEqual([1])
    r.tick(5_100)
    expect(released).toEqual([1, 3, 4])
    expect(r.counts.skipped).toBe(1)
    r.add(2, 'b', 6_000)
    r.add(2, 'b again', 6_100)
    expect(released).toEqual([1, 3, 4, 2])
    expect(r.counts).toMatchObject({ late: 1, duplicates: 1 })
  })
})

const post = (id: string) => ({ id, text: 'Lumen', brands: ['Lumen'] }) as unknown as ScoredPost
function delivery(seq: number, redelivered = false) {
  const d = {
    seq,
    redelivered,
    acked: 0,
    keptAlive: 0,
    ack: () => void d.acked++,
    working: () => void d.keptAlive++,
  }
  return d
}

describe('Settlement', () => {
  it('acknowledges a message only once its record is published, and at once when nothing took its event', async () => {
    const published: SettledRecord[][] = []
    const s = new Settlement(async (records) => void published.push(records))
    const dropped = delivery(1)
    s.admit({ kind: 'post', post: post('a') as never }, dropped, () => {})
    const kept = delivery(2)
    s.admit({ kind: 'post', post: post('b') as never }, kept, () => s.taken('post:b'))
    await s.flush()
    expect(dropped.acked).toBe(1)
    expect(kept.acked).toBe(0)
    expect(published).toEqual([[{ seq: 1 }]])
    s.settled('post:b', { post: post('b'), shown: false })
    await s.flush()
    expect(kept.acked).toBe(1)
    expect(published[1]).toEqual([{ seq: 2, post: post('b'), hidden: true }])
  })

  it('counts a duplicate live only when it was redelivered (its first worker may have died before its record went out)', async () => {
    const published: SettledRecord[] = []
    const s = new Settlement(async (records) => void published.push(...records))
    const first = delivery(7, false)
    const again = delivery(9, true)
    s.admit({ kind: 'post', post: post('x') as never }, first, () => s.taken('post:x'))
    s.settled('post:x', { post: post('x'), shown: true }, true)
    s.admit({ kind: 'post', post: post('y') as never }, again, () => s.taken('post:y'))
    s.settled('post:y', { post: post('y'), shown: true }, true)
    await s.flush()
    expect(published).toEqual([{ seq: 7 }, { seq: 9, post: post('y') }])
  })

  it('keeps a message unacknowledged while its record cannot be published, and acknowledges it once it can', async () => {
    let fail = 2
    const s = new Settlement(async () => {
      if (fail-- > 0) throw new Error('no responders')
    })
    const d = delivery(3)
    s.admit({ kind: 'delete', deletion: { postId: 'p', at: '2026-11-30T08:00:00.000Z' }, createdAt: '2026-11-30T08:00:00.000Z' }, d, () => {})
    await s.flush()
    expect(d.acked).toBe(1)
    expect(s.publishFailures).toBe(2)
  })
})

describe('bus messages', () => {
  it('split records into messages under the size NATS takes, and read them back', () => {
    const records = Array.from({ length: 50 }, (_, i) => ({ seq: i + 1 }))
    const chunks = chunkRecords(records, 100)
    expect(chunks.length).toBeGreaterThan(1)
    expect(chunks.every((c) => Buffer.byteLength(c) <= 100)).toBe(true)
    expect(chunks.flatMap((c) => (readSettled(c) as { value: SettledRecord[] }).value)).toEqual(records)
  })

  it('refuse what is not of their shape, saying where', () => {
    expect(readRelated('{nope')).toMatchObject({ ok: false, reason: expect.stringContaining('not JSON') })
    expect(readRelated(JSON.stringify({ kind: 'post', post: { id: 'x' } }))).toMatchObject({ ok: false, reason: expect.stringContaining('not a related event') })
    expect(readSettled(JSON.stringify([{ seq: 0 }]))).toMatchObject({ ok: false, reason: expect.stringContaining('/0/seq') })
  })

  it('name subjects by kind, source and brand, in tokens NATS allows', () => {
    expect(subjectOf('post', 'jetstream', 'Lumen Labs.io')).toBe('undertow.events.post.jetstream.Lumen_Labs_io')
    expect(subjectOf('post', 'webhook')).toBe('undertow.events.post.webhook._')
    expect(subjectOf('engagement', 'mastodon')).toBe('undertow.events.engagement.mastodon')
  })
})
