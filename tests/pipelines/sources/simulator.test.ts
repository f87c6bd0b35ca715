import { VirtualTimeScheduler } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { scoreText } from '../../../models/lexicon.ts'
import type { SourceEvent } from '../../../pipelines/schema.ts'
import { simulatorSource } from '../../../pipelines/sources/simulator.ts'
import { brandHandles } from '../../../pipelines/sources/simulator/scenario.ts'
import { postsOf, scenario, SEED, simulated } from '../../support/fixtures.ts'

const HOURS_2 = 2 * 3600
const events = simulated(HOURS_2)
const posts = postsOf(events)

function perMinute(filter: (e: (typeof events)[number]) => boolean, from: number, to: number): number {
  return (
    events.filter((e) => e.event.kind === 'post' && e.at >= from && e.at < to && filter(e)).length / ((to - from) / 60)
  )
}

describe('launch-day simulator', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    expect(simulated(1800)).toEqual(simulated(1800))
    const other = postsOf(simulated(1800, SEED + 1)).map((p) => p.text)
    expect(other).not.toEqual(postsOf(simulated(1800)).map((p) => p.text))
  })

  it('emits events in time order with unique post ids', () => {
    for (let i = 1; i < events.length; i++) expect(events[i]!.at).toBeGreaterThanOrEqual(events[i - 1]!.at)
    expect(new Set(posts.map((p) => p.id)).size).toBe(posts.length)
    for (const p of posts) expect(Date.parse(p.createdAt)).toBeGreaterThanOrEqual(Date.parse(scenario.start))
  })

  it('spikes at the launch: brand mentions per minute at least triple the baseline', () => {
    const brand = (e: (typeof events)[number]) => e.truth?.stream === 'brand'
    const before = perMinute(brand, 0, scenario.launchAt)
    const after = perMinute(brand, scenario.launchAt + 120, scenario.launchAt + 900)
    expect(before).toBeGreaterThan(2)
    expect(after / before).toBeGreaterThan(3)
  })

  it('starts the backlash at its known onset, about one concrete problem, and it reads negative', () => {
    const backlash = events.filter((e) => e.truth?.stream === 'backlash')
    expect(Math.min(...backlash.map((e) => e.at))).toBeGreaterThanOrEqual(scenario.backlashAt)
    expect(Math.min(...backlash.map((e) => e.at))).toBeLessThan(scenario.backlashAt + 120)
    const texts = postsOf(backlash)
    expect(texts.every((p) => p.text.includes(scenario.problem.trigger) || /battery/.test(p.text))).toBe(true)
    const negativeShare = (from: number, to: number) => {
      const window = posts.filter((p) => {
        const at = (Date.parse(p.createdAt) - Date.parse(scenario.start)) / 1000
        return at >= from && at < to && p.author.handle !== brandHandles(scenario)[1]
      })
      return window.filter((p) => scoreText(p.text).label === 'negative').length / window.length
    }
    const before = negativeShare(scenario.launchAt, scenario.backlashAt)
    const during = negativeShare(scenario.backlashAt + 8 * 60, scenario.backlashAt + 30 * 60)
    expect(during).toBeGreaterThan(before * 2)
  })

  it('has the brand reply to earlier posts with varied delays', () => {
    const byId = new Map(posts.map((p) => [p.id, p]))
    const replies = posts.filter((p) => p.author.handle === brandHandles(scenario)[1])
    expect(replies.length).toBeGreaterThan(20)
    const delays = replies.map((r) => {
      const parent = byId.get(r.replyTo!)
      expect(parent, `reply ${r.id} answers a post emitted before it`).toBeDefined()
      return (Date.parse(r.createdAt) - Date.parse(parent!.createdAt)) / 60_000
    })
    delays.sort((a, b) => a - b)
    expect(delays[0]).toBeLessThan(5)
    expect(delays.at(-1)).toBeGreaterThan(60)
    const median = delays[Math.floor(delays.length / 2)]!
    expect(median).toBeGreaterThan(5)
    expect(median).toBeLessThan(60)
  })

  it('carries the middle: suggestions, questions and mixed opinions each at least 5% of brand posts', () => {
    const brand = events.filter((e) => e.truth?.stream === 'brand')
    for (const kind of ['suggestion', 'question', 'mixed'] as const) {
      expect(brand.filter((e) => e.truth?.kind === kind).length / brand.length, kind).toBeGreaterThan(0.05)
    }
  })

  it('gives authors a heavy-tailed spread of followers', () => {
    const followers = [...new Map(posts.map((p) => [p.author.id, p.author.followers])).values()].sort((a, b) => a - b)
    expect(followers[Math.floor(followers.length / 2)]).toBeLessThan(1_000)
    expect(followers.at(-1)).toBeGreaterThan(50_000)
  })

  it('sends likes and reposts after the posts they count', () => {
    const emittedAt = new Map(
      events.flatMap((e) => (e.event.kind === 'post' ? [[e.event.post.id, e.at] as const] : [])),
    )
    const updates = events.filter((e) => e.event.kind === 'engagement')
    expect(updates.length).toBeGreaterThan(100)
    for (const e of updates) {
      const update = (e.event as Extract<SourceEvent, { kind: 'engagement' }>).update
      expect(emittedAt.get(update.postId)).toBeLessThan(e.at)
      expect(
        update.delta.likes + update.delta.reposts + update.delta.replies + update.delta.quotes,
      ).toBeGreaterThanOrEqual(0)
    }
  })

  it('paces the stream at the speed factor: simulated seconds per real second', () => {
    const emittedBy = (ms: number) => {
      const scheduler = new VirtualTimeScheduler(undefined, ms)
      const seen: SourceEvent[] = []
      simulatorSource({ scenario, seed: SEED, speed: 60, scheduler }).subscribe((e) => seen.push(e))
      scheduler.flush()
      return seen.length
    }
    expect(emittedBy(10_000)).toBe(events.filter((e) => e.at <= 600).length)
    expect(emittedBy(5_000)).toBe(events.filter((e) => e.at <= 300).length)
  })

  it('replays at once the part of the day that happened before it started (`ahead`), then paces the rest', () => {
    const emittedBy = (ms: number) => {
      const scheduler = new VirtualTimeScheduler(undefined, ms)
      const seen: SourceEvent[] = []
      simulatorSource({ scenario, seed: SEED, speed: 60, ahead: 1_200, scheduler }).subscribe((e) => seen.push(e))
      scheduler.flush()
      return seen.length
    }
    // At most SIMULATOR_MAX_PER_TICK a wake-up: a few ticks in, the 20 minutes ahead are out.
    expect(emittedBy(1_000)).toBe(events.filter((e) => e.at <= 1_200 + 60).length)
    expect(emittedBy(10_000)).toBe(events.filter((e) => e.at <= 1_200 + 600).length)
  })

  it('replays as fast as possible and completes at `until`', async () => {
    const seen: SourceEvent[] = []
    await new Promise<void>((done) =>
      simulatorSource({ scenario, seed: SEED, speed: Infinity, until: 1800 }).subscribe({
        next: (e) => seen.push(e),
        complete: done,
      }),
    )
    expect(seen).toEqual(events.filter((e) => e.at < 1800).map((e) => e.event))
  })
})
