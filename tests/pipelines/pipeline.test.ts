// The simulator's posts through the real pipeline into the embedded ClickHouse: what is stored,
// and what is pushed live, must equal what the simulator emitted, post for post and minute for minute.
import { concat, defer, from, mergeMap, timer } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { LexiconClassifier, scoreText } from '../../models/lexicon.ts'
import { startPipeline } from '../../pipelines/pipeline.ts'
import type { Post, SourceEvent, WindowAggregate } from '../../pipelines/schema.ts'
import { simulatorSource } from '../../pipelines/sources/simulator.ts'
import { compileTracking, matchOne } from '../../pipelines/transforms/match.ts'
import {
  byMinute,
  MemoryDeadLetter,
  postsOf,
  RecordingLive,
  runThrough,
  scenario,
  SEED,
  simulated,
  tracking,
} from '../support/fixtures.ts'
import { useEmbeddedStore } from '../support/store.ts'

const store = useEmbeddedStore('pipeline')

/** What the aggregates must be, computed independently of the pipeline from the emitted posts. */
function expectedWindows(posts: readonly Post[]): WindowAggregate[] {
  const matchers = compileTracking(tracking)
  const windows = new Map<string, WindowAggregate>()
  for (const post of posts) {
    // Replies in threads under the brand's own posts name no brand: stored, counted for none.
    const matched = matchOne(post, matchers)
    if (!matched) continue
    const s = scoreText(post.text)
    const t = Date.parse(post.createdAt)
    const minute = new Date(t - (t % 60_000)).toISOString()
    for (const brand of matched.brands) {
      const w = windows.get(`${brand}|${minute}`) ?? {
        brand,
        minute,
        posts: 0,
        negative: 0,
        neutral: 0,
        positive: 0,
        mixed: 0,
        uncertain: 0,
        unscored: 0,
      }
      w.posts++
      w[s.label]++
      if (s.mixed) w.mixed++
      if (s.uncertain) w.uncertain++
      windows.set(`${brand}|${minute}`, w)
    }
  }
  return byMinute(windows.values())
}

describe('pipeline: simulator -> normalise -> match -> classify -> ClickHouse + live', () => {
  const UNTIL = 50 * 60 // through the launch and into the backlash
  const events = simulated(UNTIL)
  const posts = postsOf(events)
  let result: Awaited<ReturnType<typeof runThrough>>

  beforeAll(async () => {
    result = await runThrough(store, simulatorSource({ scenario, seed: SEED, speed: Infinity, until: UNTIL }))
  })

  it('stores every post the simulator emitted, once', async () => {
    expect(posts.length).toBeGreaterThan(500)
    expect(result.deadLetter.records).toEqual([])
    expect(result.stats.stored).toBe(posts.length)
    expect(await store.countPosts()).toBe(posts.length)
  })

  it("stores per-minute aggregates equal to the emitted posts' counts and sentiment mix", async () => {
    const expected = expectedWindows(posts)
    expect(expected.length).toBeGreaterThan(3 * 45)
    expect(await store.minuteAggregates({})).toEqual(expected)
  })

  it("counts the brand's mentions as the scenario meant them: every brand and backlash post, none of its replies", async () => {
    const meant = events.filter((e) => e.truth?.stream === 'brand' || e.truth?.stream === 'backlash').length
    const stored = (await store.minuteAggregates({ brands: ['Lumen'] })).reduce((n, w) => n + w.posts, 0)
    const replies = events.filter((e) => e.truth?.stream === 'reply').length
    expect(replies).toBeGreaterThan(0)
    // Competitor posts can name the brand too; brand posts always do.
    expect(stored).toBeGreaterThanOrEqual(meant)
    expect(stored).toBeLessThanOrEqual(meant + events.filter((e) => e.truth?.stream === 'competitor').length)
  })

  it('pushes live windows whose final values equal the stored ones', async () => {
    expect(result.live.deltas).toBeGreaterThan(0)
    expect(byMinute(result.live.windows.values())).toEqual(await store.minuteAggregates({}))
  })

  it('stores the engagement updates', () => {
    expect(result.stats.engagementStored).toBe(events.filter((e) => e.event.kind === 'engagement').length)
  })
})

describe('pipeline: sources and stopping', () => {
  it('reads a source that emits synchronously once, for posts and engagement alike', async () => {
    const before = await store.countPosts()
    const events = simulated(10 * 60, SEED + 2)
    const { stats } = await runThrough(
      store,
      defer(() => from(events.map((e) => e.event))),
    )
    expect(stats.received).toBe(events.length)
    expect(stats.engagementStored).toBe(events.filter((e) => e.event.kind === 'engagement').length)
    expect(await store.countPosts()).toBe(before + postsOf(events).length)
  })

  it('on stop, stores everything it had accepted before returning', async () => {
    const before = await store.countPosts()
    const live = new RecordingLive()
    const pipeline = startPipeline({
      sources: [
        simulatorSource({ scenario: { ...scenario, start: '2026-11-24T09:00:00.000Z' }, seed: SEED + 3, speed: 600 }),
      ],
      classifier: new LexiconClassifier(),
      tracking,
      store,
      live,
      deadLetter: new MemoryDeadLetter(),
    })
    await expect.poll(() => pipeline.stats.stored, { timeout: 10_000 }).toBeGreaterThan(0)
    await pipeline.stop()
    expect(pipeline.stats.stored).toBe(pipeline.stats.scored)
    expect(await store.countPosts()).toBe(before + pipeline.stats.stored)
    // Pushed live or counted as left out of the walls' feed (past LIVE_POSTS_PER_BRAND a push).
    expect(live.posts.length + pipeline.stats.liveSkipped).toBe(pipeline.stats.stored)
  })
})

describe('pipeline: bad events', () => {
  it('dead-letters a bad post with its reason and stores everything else', async () => {
    const before = await store.countPosts()
    const good = postsOf(simulated(120, SEED + 1))
    const bad = { ...good[0]!, id: 'simulator:bad', createdAt: 'not a date' }
    const asEvents = (list: Post[]) => list.map((post): SourceEvent => ({ kind: 'post', post }))
    const source = from([
      ...asEvents(good.slice(0, 5)),
      { kind: 'post', post: bad } as SourceEvent,
      ...asEvents(good.slice(5)),
    ])
    const { deadLetter, stats } = await runThrough(store, source)
    expect(deadLetter.records).toEqual([
      { stage: 'normalise', reason: expect.stringContaining('/createdAt'), payload: bad },
    ])
    expect(stats.stored).toBe(good.length)
    expect(await store.countPosts()).toBe(before + good.length)
  })
})

describe('pipeline: deletions', () => {
  it('forgets a post its author deleted, whether it is stored already or still on its way', async () => {
    const before = await store.countPosts()
    const good = postsOf(simulated(180, SEED + 4))
    const at = (post: Post) => new Date(Date.parse(post.createdAt) + 60_000).toISOString()
    const stored = good.slice(0, 3)
    const inFlight = good[good.length - 1]!
    const asPosts = (list: Post[]) => list.map((post): SourceEvent => ({ kind: 'post', post }))
    const source = concat(
      from(asPosts(good.slice(0, -1))),
      // The last post is deleted right behind itself: it is still being classified.
      from<SourceEvent[]>([
        { kind: 'post', post: inFlight },
        { kind: 'delete', postId: inFlight.id, at: at(inFlight) },
      ]),
      // The others once they are stored (the posts sink writes every half second).
      timer(1_500).pipe(
        mergeMap(() =>
          from<SourceEvent[]>([
            ...stored.map((p): SourceEvent => ({ kind: 'delete', postId: p.id, at: at(p) })),
            { kind: 'delete', postId: 'simulator:never-seen', at: at(stored[0]!) },
            { kind: 'delete', postId: stored[0]!.id, at: 'yesterday' },
          ]),
        ),
      ),
    )
    const { deadLetter, stats } = await runThrough(store, source)
    expect(deadLetter.records).toEqual([
      {
        stage: 'normalise',
        reason: expect.stringContaining('/at'),
        payload: { postId: stored[0]!.id, at: 'yesterday' },
      },
    ])
    expect(stats).toMatchObject({ stored: good.length - 1, deletions: 4, deleted: 4, deletionsIgnored: 1 })
    // The purge is a mutation: ClickHouse applies it in the background.
    await expect.poll(() => store.countPosts(), { timeout: 15_000 }).toBe(before + good.length - 4)
    const left = await store.searchPosts({ from: good[0]!.createdAt, page: 1, pageSize: 1000 })
    for (const gone of [...stored, inFlight]) expect(left.posts.map((p) => p.id)).not.toContain(gone.id)
    expect(await store.unstoredDeletions([...stored, inFlight].map((p) => ({ postId: p.id, at: at(p) })))).toEqual([])
  })
})
