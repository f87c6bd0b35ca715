// Backpressure: a flood far faster than the classifier. In front of it at most INTAKE_HIGH posts
// wait in memory; the rest wait on disk only, in the intake journal, and are read back in order as
// it catches up. Every post is stored once, nothing is dead-lettered, the journal's files go once
// their posts are stored, and what waits at a stop is stored after the next start. Without a
// journal, the same flood queues whole in memory: the bound is the journal's.
import { EMPTY, from, type Observable } from 'rxjs'
import { afterAll, describe, expect, it } from 'vitest'
import type { Classifier } from '../../models/classifier.ts'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { type Pipeline, startPipeline } from '../../pipelines/pipeline.ts'
import { LIVE_POSTS_PER_BRAND, newestPerBrand } from '../../pipelines/transforms/shortlist.ts'
import type { Post, ScoredPost, SourceEvent } from '../../pipelines/schema.ts'
import { Journal } from '../../pipelines/sinks/journal.ts'
import { INTAKE_HIGH } from '../../pipelines/transforms/admit.ts'
import { MemoryDeadLetter, RecordingLive, tracking } from '../support/fixtures.ts'
import { useEmbeddedStore } from '../support/store.ts'
import { tmpDir } from '../support/tmp.ts'

const store = useEmbeddedStore('backpressure')
const spillDir = tmpDir('intake')
afterAll(() => spillDir.remove())

/** The lexicon behind a model that takes 40 ms a batch: about 6,000 posts/s at most. */
const slow = (): Classifier => {
  const lexicon = new LexiconClassifier()
  return {
    name: 'slow-lexicon',
    classify: async (texts) => (await new Promise((r) => setTimeout(r, 40)), lexicon.classify(texts)),
  }
}

const flood = (run: string, n: number): SourceEvent[] =>
  Array.from(
    { length: n },
    (_, i): SourceEvent => ({
      kind: 'post',
      post: {
        id: `webhook:${run}-${i}`,
        source: 'webhook',
        url: '',
        author: { id: `a${i % 997}`, handle: `user${i % 997}`, displayName: 'U', followers: 10 },
        text: `Lumen flood ${i}: is the battery any better in the new one?`,
        lang: 'en',
        createdAt: new Date(Date.now() - 60_000 + (i % 60_000)).toISOString(),
        engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
        brands: [],
        terms: [],
      } as Post,
    }),
  )

/** Starts a pipeline on `source` and samples its queues every 5 ms until it is done (or stopped). */
function watched(source: Observable<SourceEvent>, intake?: Journal) {
  const deadLetter = new MemoryDeadLetter()
  const live = new RecordingLive()
  const pipeline: Pipeline = startPipeline({
    sources: [source],
    classifier: slow(),
    tracking,
    store,
    live,
    deadLetter,
    ...(intake ? { intake } : {}),
  })
  const peak = { classify: 0, intakeFiles: 0, intakeBytes: 0 }
  const sampler = setInterval(() => {
    const q = pipeline.queues()
    peak.classify = Math.max(peak.classify, q.classify)
    peak.intakeFiles = Math.max(peak.intakeFiles, q.intakeFiles)
    peak.intakeBytes = Math.max(peak.intakeBytes, q.intakeBytes)
  }, 5)
  const ended = pipeline.done.finally(() => clearInterval(sampler))
  return { pipeline, peak, deadLetter, ended, live }
}

const stored = async (prefix: string) => {
  const [row] = await store.select<{ rows: string; ids: string }>(
    `SELECT count() AS rows, uniqExact(id) AS ids FROM posts WHERE startsWith(id, {p:String})`,
    { p: prefix },
  )
  return { rows: Number(row!.rows), ids: Number(row!.ids) }
}

describe("the walls' share of a flood", () => {
  it('keeps the newest LIVE_POSTS_PER_BRAND posts of each brand a push, in arrival order', () => {
    const posts = [...flood('x', 40).map((e) => (e.kind === 'post' ? e.post : undefined)!)].map(
      (p, i) => ({ ...p, brands: [i % 4 === 0 ? 'Corvid' : 'Lumen'] }) as ScoredPost,
    )
    const { kept, skipped } = newestPerBrand(posts, 5)
    expect(kept.map((p) => p.id)).toEqual([
      'webhook:x-20',
      'webhook:x-24',
      'webhook:x-28',
      'webhook:x-32',
      'webhook:x-34',
      'webhook:x-35',
      'webhook:x-36',
      'webhook:x-37',
      'webhook:x-38',
      'webhook:x-39',
    ])
    expect(skipped).toBe(30)
    expect(newestPerBrand(posts.slice(0, 3), LIVE_POSTS_PER_BRAND)).toEqual({ kept: posts.slice(0, 3), skipped: 0 })
  })
})

describe('backpressure: a flood faster than the classifier', () => {
  const N = 20_000

  it('keeps at most INTAKE_HIGH posts in memory in front of the classifier, the rest on disk, and stores every one once', async () => {
    const spill = new Journal(spillDir.path, 1 << 30)
    const run = watched(from(flood('a', N)), spill)
    await run.ended
    expect(run.peak.classify).toBeGreaterThan(INTAKE_HIGH / 2)
    expect(run.peak.classify).toBeLessThanOrEqual(INTAKE_HIGH)
    expect(run.peak.intakeFiles).toBeGreaterThan(0)
    // Most of the flood waited on disk, not in memory.
    expect(run.peak.intakeBytes).toBeGreaterThan((N - 2 * INTAKE_HIGH) * 200)
    expect(run.deadLetter.records).toEqual([])
    expect(run.pipeline.stats.stored).toBe(N)
    expect(await stored('webhook:a-')).toEqual({ rows: N, ids: N })
    await spill.close()
    expect(spill.pending()).toBe(0)
    // The walls were sent what a ticker can show, the newest of each push; the rest is counted.
    expect(run.live.posts.length).toBeGreaterThan(0)
    expect(run.live.posts.length + run.pipeline.stats.liveSkipped).toBe(N)
  }, 60_000)

  it('without a place to wait, queues the whole flood in memory (what the bound prevents)', async () => {
    const run = watched(from(flood('b', N)))
    await run.ended
    expect(run.peak.classify).toBeGreaterThan(N / 2)
    expect(await stored('webhook:b-')).toEqual({ rows: N, ids: N })
  }, 60_000)

  it('leaves what waits on disk at a stop there, and stores it after the next start: nothing lost, nothing twice', async () => {
    const spill = new Journal(spillDir.path, 1 << 30)
    const first = watched(from(flood('c', N)), spill)
    await new Promise((r) => setTimeout(r, 500))
    await first.pipeline.stop()
    await spill.close()
    expect(spill.pending()).toBeGreaterThan(0)
    expect((await stored('webhook:c-')).rows).toBeLessThan(N)
    // The next start: the files left are let in first (here the only source has nothing new).
    const again = new Journal(spillDir.path, 1 << 30)
    const second = watched(EMPTY, again)
    await second.ended
    await again.close()
    expect(again.pending()).toBe(0)
    expect([...first.deadLetter.records, ...second.deadLetter.records]).toEqual([])
    expect(await stored('webhook:c-')).toEqual({ rows: N, ids: N })
  }, 60_000)
})
