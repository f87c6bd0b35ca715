// The bus's parts on their own: the order the live figures are put back in, when a worker
// acknowledges, and what the bus's messages may hold.
import { describe, expect, it } from 'vitest'
import { readRelated, readSettled } from '../../../pipelines/bus/messages.ts'
import { chunkRecords, subjectOf } from '../../../pipelines/bus/nats.ts'
import { Resequencer } from '../../../pipelines/bus/resequence.ts'
import { GIVE_UP_DELIVERIES, MAX_HOLD_MS, type SettledRecord, Settlement } from '../../../pipelines/bus/settlement.ts'
import { MemoryDeadLetter } from '../../../pipelines/sinks/deadletter.ts'
import type { Post, ScoredPost } from '../../../pipelines/schema.ts'
import { mentionContext, RecentPosts } from '../../../pipelines/transforms/relate.ts'

function order(startMs = 1_000, gapMs = 5_000) {
  const released: number[] = []
  const dropped: number[] = []
  const r = new Resequencer<string>(
    (_item, seq) => released.push(seq),
    (_item, seq) => dropped.push(seq),
    { startMs, gapMs },
  )
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

  it('starts at a known place at once, passes over places whose records will not come, and drops records from before it', () => {
    const { r, released, dropped } = order(60_000)
    // 12 was acknowledged before the start: its record is gone with the others, and will not come.
    r.begin(10, [12], 0)
    r.add(11, 'k', 1)
    r.add(13, 'm', 1)
    r.add(10, 'j', 2)
    expect(released).toEqual([10, 11, 13])
    r.add(12, 'l (published just after the claim)', 3)
    expect(dropped).toEqual([12])
    // Before the start: the store holds what it says (the live figures are seeded from it).
    r.add(9, 'i', 4)
    expect(released).toEqual([10, 11, 13])
    expect(dropped).toEqual([12, 9])
    expect(r.counts.late).toBe(0)
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

  it('waits the whole gap after a quiet spell before passing a place over', () => {
    const { r, released } = order(0, 5_000)
    r.add(1, 'a', 0)
    r.tick(0)
    // A minute of quiet, then two records out of order.
    r.add(3, 'c', 60_000)
    r.tick(60_100)
    expect(released).toEqual([1])
    r.add(2, 'b', 61_000)
    expect(released).toEqual([1, 2, 3])
    expect(r.counts.skipped).toBe(0)
  })

  it('starts and passes over with hundreds of thousands of records waiting, and past a forged place far ahead', () => {
    const { r, released } = order(0, 1_000)
    for (let seq = 300_000; seq > 1; seq--) r.add(seq, 'x', 0)
    r.tick(0)
    expect(released.length).toBe(299_999)
    r.add(2 ** 52, 'forged', 10)
    r.tick(2_000)
    expect(released.at(-1)).toBe(2 ** 52)
    expect(r.counts.skipped).toBe(2 ** 52 - 300_001)
  })
})

const post = (id: string) => ({ id, text: 'Lumen', brands: ['Lumen'] }) as unknown as ScoredPost
function delivery(seq: number, redelivered = false) {
  const d = {
    seq,
    redelivered,
    acked: 0,
    keptAlive: 0,
    nakedFor: [] as number[],
    info: { deliveryCount: redelivered ? 2 : 1 },
    ack: () => void d.acked++,
    working: () => void d.keptAlive++,
    nak: (ms?: number) => void d.nakedFor.push(ms ?? 0),
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

  it('acknowledges a message delivered twice to the same worker only once its first copy is written, with one record', async () => {
    const published: SettledRecord[] = []
    const s = new Settlement(async (records) => void published.push(...records))
    const first = delivery(7, false)
    const again = delivery(7, true)
    s.admit({ kind: 'post', post: post('z') as never }, first, () => s.taken('post:z'))
    s.admit({ kind: 'post', post: post('z') as never }, again, () => s.taken('post:z'))
    // The second copy is dropped as a duplicate of the first, still being written.
    s.settled('post:z', { post: post('z'), shown: true }, true)
    await s.flush()
    expect([first.acked, again.acked]).toEqual([0, 0])
    s.settled('post:z', { post: post('z'), shown: true })
    await s.flush()
    expect([first.acked, again.acked]).toEqual([1, 1])
    expect(published).toEqual([{ seq: 7, post: post('z') }])
  })

  it('counts an event that came twice (two places) once, on its first place', async () => {
    const published: SettledRecord[] = []
    const s = new Settlement(async (records) => void published.push(...records))
    s.admit({ kind: 'post', post: post('w') as never }, delivery(5), () => s.taken('post:w'))
    s.admit({ kind: 'post', post: post('w') as never }, delivery(9), () => s.taken('post:w'))
    s.settled('post:w', { post: post('w'), shown: true }, true)
    s.settled('post:w', { post: post('w'), shown: true })
    await s.flush()
    expect(published).toEqual([{ seq: 5, post: post('w') }, { seq: 9 }])
  })

  it('hands a message back to the bus when the store cannot take its event, with a pause that grows, and publishes no record', async () => {
    const published: SettledRecord[] = []
    const s = new Settlement(async (records) => void published.push(...records))
    const first = delivery(4, false)
    const later = delivery(6, true)
    s.admit({ kind: 'post', post: post('u') as never }, first, () => s.taken('post:u'))
    s.givenBack('post:u')
    s.admit({ kind: 'post', post: post('t') as never }, later, () => s.taken('post:t'))
    s.givenBack('post:t')
    await s.flush()
    expect([first.acked, later.acked]).toEqual([0, 0])
    expect([first.nakedFor, later.nakedFor]).toEqual([[1_000], [2_000]])
    expect(published).toEqual([])
    expect(s.size).toBe(0)
  })

  it('dead-letters an event the store has not taken in GIVE_UP_DELIVERIES deliveries, and settles it', async () => {
    const published: SettledRecord[] = []
    const deadLetter = new MemoryDeadLetter()
    const s = new Settlement(async (records) => void published.push(...records), deadLetter)
    const d = Object.assign(delivery(8, true), { info: { deliveryCount: GIVE_UP_DELIVERIES } })
    s.admit({ kind: 'post', post: post('s') as never }, d, () => s.taken('post:s'))
    s.givenBack('post:s', 'Code: 241. Memory limit exceeded')
    await s.flush()
    expect(d.acked).toBe(1)
    expect(d.nakedFor).toEqual([])
    expect(published).toEqual([{ seq: 8 }])
    expect(deadLetter.records).toMatchObject([
      {
        stage: 'bus',
        reason: `not stored after ${GIVE_UP_DELIVERIES} deliveries: Code: 241. Memory limit exceeded`,
        payload: { kind: 'post', post: { id: 's' } },
      },
    ])
  })

  it('keeps messages alive while they are worked on, but not past MAX_HOLD_MS', () => {
    const s = new Settlement(async () => {})
    const d = delivery(1)
    s.admit({ kind: 'post', post: post('v') as never }, d, () => s.taken('post:v'), 0)
    expect(s.keepAlive(10_000, 5_000)).toBe(0)
    expect(s.keepAlive(10_000, 10_000)).toBe(1)
    expect(s.keepAlive(10_000, MAX_HOLD_MS)).toBe(0)
    expect(d.keptAlive).toBe(1)
  })

  it('keeps a message unacknowledged while its record cannot be published, and acknowledges it once it can', async () => {
    let fail = 2
    const s = new Settlement(async () => {
      if (fail-- > 0) throw new Error('no responders')
    })
    const d = delivery(3)
    s.admit(
      {
        kind: 'delete',
        deletion: { postId: 'p', at: '2026-11-30T08:00:00.000Z' },
        createdAt: '2026-11-30T08:00:00.000Z',
      },
      d,
      () => {},
    )
    await s.flush()
    expect(d.acked).toBe(1)
    expect(s.publishFailures).toBe(2)
  })
})

describe("a reply's mention context", () => {
  const at = '2026-11-30T08:00:00.000Z'
  const mention = (id: string) =>
    ({
      id,
      source: 'simulator',
      brands: ['Lumen'],
      terms: ['lumen'],
      text: `is Lumen ok? ${id}`,
      createdAt: at,
    }) as unknown as Post
  const reply = (to: string) =>
    ({
      id: `r-${to}`,
      ownBrand: 'Lumen',
      replyTo: to,
      answersMentionAt: at,
      brands: [],
      text: 'sorry',
    }) as unknown as Post

  it("carries the mention's text while remembered, its needs once known, and sends older ones to the store", () => {
    const recent = new RecentPosts(100, 2)
    for (const id of ['m1', 'm2', 'm3']) recent.add(mention(id))
    expect(mentionContext(reply('m3'), recent)).toEqual({
      text: 'is Lumen ok? m3',
      brands: ['Lumen'],
      terms: ['lumen'],
    })
    recent.markNeedsReply('m2', ['Lumen'])
    expect(mentionContext(reply('m2'), recent)).toEqual({ needsReply: ['Lumen'] })
    // m1's text was forgotten for m3's before its needs were known: the store has them.
    expect(mentionContext(reply('m1'), recent)).toEqual({ stored: 'm1' })
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
    expect(readRelated(JSON.stringify({ kind: 'post', post: { id: 'x' } }))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not a related event'),
    })
    expect(readSettled(JSON.stringify([{ seq: 0 }]))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('/0/seq'),
    })
  })

  it('name subjects by kind, source and brand, in tokens NATS allows', () => {
    expect(subjectOf('post', 'jetstream', 'Lumen Labs.io')).toBe('undertow.events.post.jetstream.Lumen_Labs_io')
    expect(subjectOf('post', 'webhook')).toBe('undertow.events.post.webhook._')
    expect(subjectOf('engagement', 'mastodon')).toBe('undertow.events.engagement.mastodon')
  })
})
