// Temporary failures with the intake journal, on a real pipeline and the embedded store: the store
// down with its spool full, and the classifier's thread gone. The posts are neither dead-lettered
// nor let go by the journal: they stay in its files, go on again after a backoff, and are stored
// once the failure is over. A post that fails because of its own data is still dead-lettered.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Subject } from 'rxjs'
import { afterAll, describe, expect, it } from 'vitest'
import type { Classifier } from '../../models/classifier.ts'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { startPipeline } from '../../pipelines/pipeline.ts'
import type { Post, SourceEvent } from '../../pipelines/schema.ts'
import { Journal } from '../../pipelines/sinks/journal.ts'
import { Spool } from '../../pipelines/sinks/spool.ts'
import type { Store } from '../../pipelines/store/store.ts'
import { MemoryDeadLetter, RecordingLive, tracking } from '../support/fixtures.ts'
import { useEmbeddedStore } from '../support/store.ts'
import { tmpDir } from '../support/tmp.ts'

const store = useEmbeddedStore('intake-retry')
const dir = tmpDir('intake-retry')
afterAll(() => dir.remove())

const post = (run: string, i: number): SourceEvent => ({
  kind: 'post',
  post: {
    id: `webhook:${run}-${i}`,
    source: 'webhook',
    url: '',
    author: { id: `a${i}`, handle: `user${i}`, displayName: 'U', followers: 10 },
    text: `Lumen retry ${i}: is the battery any better in the new one?`,
    lang: 'en',
    createdAt: new Date(Date.now() - 60_000 + i).toISOString(),
    engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
    brands: [],
    terms: [],
  } as Post,
})

const stored = async (prefix: string) =>
  Number(
    (
      await store.select<{ n: string }>('SELECT uniqExact(id) AS n FROM posts WHERE startsWith(id, {p:String})', {
        p: prefix,
      })
    )[0]!.n,
  )
const segments = (folder: string) => readdirSync(folder).filter((f) => f.endsWith('.ndjson')).length

/** The store, unreachable for its posts' writes while `down` says so. */
function unreachable(down: () => boolean): Store {
  return new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown
      if (typeof value !== 'function') return value
      // Asked at each call: the sink binds the method once.
      const failing = key === 'insertPosts' || key === 'unstoredPosts'
      return (...args: unknown[]) =>
        failing && down()
          ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8123'))
          : (value as (...a: unknown[]) => unknown).apply(target, args)
    },
  })
}

async function run(
  name: string,
  options: { store: Store; classifier: Classifier; spoolBytes?: number },
  recover: () => void,
) {
  const folder = join(dir.path, name)
  const journal = new Journal(join(folder, 'intake'), 1 << 30, { segmentMs: 50 })
  const deadLetter = new MemoryDeadLetter()
  const source = new Subject<SourceEvent>()
  const pipeline = startPipeline({
    sources: [source],
    classifier: options.classifier,
    tracking,
    store: options.store,
    live: new RecordingLive(),
    deadLetter,
    intake: journal,
    // The spool takes nothing: the store's outage cannot wait there.
    spools: { posts: new Spool(join(folder, 'posts'), options.spoolBytes ?? 1) },
  })
  for (let i = 0; i < 20; i++) source.next(post(name, i))
  await new Promise((r) => setTimeout(r, 2_500))
  const during = {
    stored: await stored(`webhook:${name}-`),
    segments: segments(join(folder, 'intake')),
    deadLettered: [...deadLetter.records],
  }
  recover()
  await expect.poll(() => stored(`webhook:${name}-`), { timeout: 20_000, interval: 100 }).toBe(20)
  await pipeline.stop()
  await journal.close()
  return { during, deadLetter, journal }
}

describe('temporary failures with the intake journal', () => {
  it('keeps posts in the journal while the store is down and the spool full, and stores them when it is back', async () => {
    let down = true
    const { during, deadLetter, journal } = await run(
      'store',
      { store: unreachable(() => down), classifier: new LexiconClassifier() },
      () => (down = false),
    )
    expect(during.deadLettered).toEqual([])
    expect(during.stored).toBe(0)
    expect(during.segments).toBeGreaterThan(0)
    expect(deadLetter.records).toEqual([])
    expect(journal.pending()).toBe(0)
  }, 40_000)

  it("keeps posts in the journal while the classifier's thread is gone, and classifies them once it is back", async () => {
    const lexicon = new LexiconClassifier()
    let ready = false
    let refused = 0
    // As models/worker.ts fails a batch while its thread is being started again.
    const classifier = {
      name: 'threaded',
      get ready() {
        return ready
      },
      async classify(texts: readonly string[]) {
        if (!ready) throw new Error(`the classifier's thread stopped: exit code 1 (${++refused})`)
        return lexicon.classify(texts)
      },
    } as Classifier
    const { during, deadLetter } = await run('classifier', { store, classifier }, () => (ready = true))
    expect(refused).toBeGreaterThan(1)
    expect(during.deadLettered).toEqual([])
    expect(during.segments).toBeGreaterThan(0)
    expect(deadLetter.records).toEqual([])
  }, 40_000)

  it('still dead-letters a batch the model fails on for its posts', async () => {
    const lexicon = new LexiconClassifier()
    let calls = 0
    const classifier: Classifier = {
      name: 'picky',
      async classify(texts) {
        if (++calls === 1) throw new Error('the tokenizer cannot read this text')
        return lexicon.classify(texts)
      },
    }
    const folder = join(dir.path, 'data')
    const journal = new Journal(join(folder, 'intake'), 1 << 30)
    const deadLetter = new MemoryDeadLetter()
    const source = new Subject<SourceEvent>()
    const pipeline = startPipeline({
      sources: [source],
      classifier,
      tracking,
      store,
      live: new RecordingLive(),
      deadLetter,
      intake: journal,
    })
    source.next(post('data', 0))
    await expect.poll(() => deadLetter.records.length, { timeout: 5_000 }).toBe(1)
    expect(deadLetter.records[0]).toMatchObject({ stage: 'classify', reason: expect.stringContaining('tokenizer') })
    await pipeline.stop()
    await journal.close()
  })
})
