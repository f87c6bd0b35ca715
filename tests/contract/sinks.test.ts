// The contract every sink keeps (each store mode: embedded here, a server below): batches written in order,
// each item once; a write that fails now and then is retried with backoff until it lands; a write
// that keeps failing is dead-lettered item by item and the stream goes on.
import { from, lastValueFrom, of, throwError, toArray } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { afterAll, describe, expect, it } from 'vitest'
import type { ScoredPost } from '../../pipelines/schema.ts'
import { clickhouseSink, STORE_BATCH_MS, STORE_RETRIES, STORE_RETRY_BASE_MS } from '../../pipelines/sinks/clickhouse.ts'
import { clickhouseCode, isBadData } from '../../pipelines/sinks/failures.ts'
import { EmbeddedStore } from '../../pipelines/store/embedded.ts'
import type { Store } from '../../pipelines/store/store.ts'
import { classify } from '../../pipelines/transforms/classify.ts'
import { match } from '../../pipelines/transforms/match.ts'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { MemoryDeadLetter, postsOf, SEED, simulated, tracking } from '../support/fixtures.ts'
import { describeWithServer, useClickHouseServer } from '../support/clickhouse-server.ts'
import { tmpDir } from '../support/tmp.ts'

const dir = tmpDir('sinks')
const embedded = new EmbeddedStore(dir.path)
afterAll(async () => {
  await embedded.close()
  dir.remove()
})

const SINKS: [string, () => Promise<Store>][] = [
  [
    'clickhouse (embedded)',
    async () => {
      await embedded.migrate()
      return embedded
    },
  ],
]

async function scoredPosts(): Promise<ScoredPost[]> {
  const posts = postsOf(simulated(15 * 60, SEED + 5))
  return lastValueFrom(
    from(posts).pipe(match(tracking), classify(new LexiconClassifier(), new MemoryDeadLetter()), toArray()),
  )
}

/** The contract, over each of `sinks`. */
function sinkContracts(sinks: [string, () => Promise<Store>][]) {
  describe.each(sinks)('sink contract: %s', (_name, open) => {
    it("stores the good posts of a batch and dead-letters the bad one with the store's reason", async () => {
      const store = await open()
      const posts = (await scoredPosts()).slice(0, 30)
      const bad = {
        ...posts[7]!,
        id: 'simulator:bad-label',
        sentiment: { ...posts[7]!.sentiment, label: 'bogus' },
      } as unknown as ScoredPost
      const batch = [...posts.slice(0, 7), bad, ...posts.slice(7)]
      const before = await store.countPosts()
      const deadLetter = new MemoryDeadLetter()
      const written = await lastValueFrom(
        from(batch).pipe(
          clickhouseSink('posts', (b) => store.insertPosts(b), { deadLetter }),
          toArray(),
        ),
      )
      expect(written.flat().map((p) => p.id)).toEqual(posts.map((p) => p.id))
      expect(await store.countPosts()).toBe(before + posts.length)
      expect(deadLetter.records).toEqual([
        { stage: 'store:posts', reason: expect.stringContaining("Unknown element 'bogus'"), payload: bad },
      ])
    })

    it('writes every item once, in batches, in order', async () => {
      const store = await open()
      // Not the posts of the test above: those are stored already, and would be skipped.
      const posts = (await scoredPosts()).slice(30)
      const before = await store.countPosts()
      const batches = await lastValueFrom(
        from(posts).pipe(
          clickhouseSink('posts', (b) => store.insertPosts(b), { deadLetter: new MemoryDeadLetter() }),
          toArray(),
        ),
      )
      expect(batches.flat().map((p) => p.id)).toEqual(posts.map((p) => p.id))
      expect(await store.countPosts()).toBe(before + posts.length)
    })
  })

  describe.each(sinks)('sink duplicates: %s', (_name, open) => {
    it('counts a batch once when its write landed but reported a failure, and stores it once', async () => {
      const store = await open()
      const posts = (await scoredPosts()).map((p) => ({ ...p, id: `${p.id}:ambiguous` }))
      const before = await store.countPosts()
      let failOnce = true
      // The write lands, then the connection drops before the answer: the sink cannot tell.
      const write = async (batch: ScoredPost[], checked: boolean) => {
        const stored = await store.insertPosts(batch, { checked })
        if (failOnce) {
          failOnce = false
          throw new Error('socket hang up')
        }
        return stored
      }
      const sink = clickhouseSink('posts', write, {
        deadLetter: new MemoryDeadLetter(),
        key: (p) => p.id,
        unstored: (b) => store.unstoredPosts(b),
      })
      const accepted = await lastValueFrom(from(posts).pipe(sink, toArray()))
      expect(accepted.flat().map((p) => p.id)).toEqual(posts.map((p) => p.id))
      expect(await store.countPosts()).toBe(before + posts.length)

      // The same posts again, as a stream replayed after a reconnect: nothing new, nothing counted.
      const replay = clickhouseSink('posts', (b: ScoredPost[], checked: boolean) => store.insertPosts(b, { checked }), {
        deadLetter: new MemoryDeadLetter(),
        key: (p) => p.id,
        unstored: (b) => store.unstoredPosts(b),
      })
      expect(await lastValueFrom(from(posts).pipe(replay, toArray()))).toEqual([])
      expect(await store.countPosts()).toBe(before + posts.length)
    })
  })
}

sinkContracts(SINKS)
// The same contract through @clickhouse/client, on the oldest server supported (Debian's).
describeWithServer('sinks on a ClickHouse server', () => {
  const clickhouse = useClickHouseServer('sinks')
  sinkContracts([
    [
      'clickhouse (server)',
      async () => {
        const store = clickhouse.store()
        await store.migrate()
        return store
      },
    ],
  ])
})

describe('clickhouse sink: failures', () => {
  const test = () => new TestScheduler((a, b) => expect(a).toEqual(b))

  it('retries a failing write with growing delays until it lands', () => {
    test().run(({ cold, expectObservable }) => {
      let attempts = 0
      // Observables, not promises: promises settle outside the test scheduler's virtual time.
      const write = (batch: string[]) => (++attempts < 3 ? throwError(() => new Error('connection reset')) : of(batch))
      const deadLetter = new MemoryDeadLetter()
      // The source completes at frame 2, closing the batch; attempts at 2, 202 (+200), 602 (+400).
      const out = cold('a b |').pipe(clickhouseSink('posts', write, { deadLetter }))
      expectObservable(out).toBe(`${2 + STORE_RETRY_BASE_MS * 3}ms (x|)`, { x: ['a', 'b'] })
    })
  })

  it('does not retry bad data: it halves the batch until the bad rows are found', () => {
    const calls: string[][] = []
    const badData = Object.assign(new Error('Code: 27. DB::Exception: Cannot parse input'), { clickhouseCode: 27 })
    const write = (batch: string[]) => {
      calls.push(batch)
      return batch.includes('bad') ? throwError(() => badData) : of(batch)
    }
    const deadLetter = new MemoryDeadLetter()
    test().run(({ cold, expectObservable }) => {
      const out = cold('a b c d |', { a: 'a', b: 'b', c: 'c', d: 'bad' }).pipe(
        clickhouseSink('posts', write, { deadLetter }),
      )
      expectObservable(out).toBe('4ms (x|)', { x: ['a', 'b', 'c'] })
    })
    expect(calls).toEqual([['a', 'b', 'c', 'bad'], ['a', 'b'], ['c', 'bad'], ['c'], ['bad']])
    expect(deadLetter.records).toEqual([{ stage: 'store:posts', reason: String(badData), payload: 'bad' }])
  })

  it('dead-letters each item of a batch that keeps failing for other reasons, then carries on', async () => {
    const deadLetter = new MemoryDeadLetter()
    let calls = 0
    const write = (batch: string[]) => {
      calls++
      return batch.includes('bad') ? throwError(() => new Error('Cannot parse input')) : of(batch)
    }
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b))
    scheduler.run(({ cold, expectObservable, flush }) => {
      const out = cold(`a ${STORE_BATCH_MS}ms b |`, { a: 'bad', b: 'good' }).pipe(
        clickhouseSink('posts', write, { deadLetter }),
      )
      // The first batch closes at 500 ms and is retried STORE_RETRIES times (200, 400, 800, 1600 ms)
      // before it is dead-lettered; the second batch waits its turn, then lands.
      const backoff = Array.from({ length: STORE_RETRIES }, (_, i) => STORE_RETRY_BASE_MS * 2 ** i).reduce(
        (a, b) => a + b,
      )
      expectObservable(out).toBe(`${STORE_BATCH_MS + backoff}ms (x|)`, { x: ['good'] })
      flush()
    })
    expect(calls).toBe(1 + STORE_RETRIES + 1)
    expect(deadLetter.records).toEqual([{ stage: 'store:posts', reason: 'Error: Cannot parse input', payload: 'bad' }])
  })
})

describe('failure triage', () => {
  it('reads the ClickHouse code from chdb errors and from server messages', () => {
    expect(clickhouseCode(Object.assign(new Error('x'), { clickhouseCode: 691 }))).toBe(691)
    expect(clickhouseCode(new Error('Code: 41. DB::Exception: Cannot read DateTime'))).toBe(41)
    expect(isBadData(new Error('Code: 41. DB::Exception: Cannot read DateTime'))).toBe(true)
    expect(isBadData(new Error('connect ECONNREFUSED 127.0.0.1:8123'))).toBe(false)
    expect(isBadData(new Error('Code: 241. DB::Exception: Memory limit exceeded'))).toBe(false)
  })
})
