// History queries over the embedded store, checked against what the simulator itself says.
import { describe, expect, it } from 'vitest'
import { brandHandles } from '../../pipelines/sources/simulator/scenario.ts'
import { postsOf, runThrough, scenario, simulated, sourceOf } from '../support/fixtures.ts'
import { useEmbeddedStore } from '../support/store.ts'

const store = useEmbeddedStore('history')

describe('response times', () => {
  it("measure the brand's first replies to the posts that mention it", async () => {
    const events = simulated(3 * 3600)
    await runThrough(store, sourceOf(events))
    const posts = postsOf(events)
    const support = brandHandles(scenario)[1]
    const mentions = posts.filter((p) => p.author.handle !== support && /\bLumen\b/i.test(p.text))
    const firstReply = new Map<string, number>()
    for (const p of posts) {
      if (p.author.handle !== support || !p.replyTo) continue
      const at = Date.parse(p.createdAt)
      firstReply.set(p.replyTo, Math.min(at, firstReply.get(p.replyTo) ?? Infinity))
    }
    const delays = mentions.filter((m) => firstReply.has(m.id)).map((m) => (firstReply.get(m.id)! - Date.parse(m.createdAt)) / 1000)
    delays.sort((a, b) => a - b)

    const stats = await store.responseTimes({ brand: 'Lumen' })
    expect(stats.mentions).toBe(mentions.length)
    expect(stats.answered).toBe(delays.length)
    expect(stats.answered).toBeGreaterThan(20)
    expect(stats.replyRate).toBeCloseTo(delays.length / mentions.length, 10)
    // quantileExact takes the element at floor(level * n) of the sorted delays.
    expect(stats.medianSeconds).toBeCloseTo(delays[Math.floor(0.5 * delays.length)]!, 3)
    expect(stats.p90Seconds).toBeCloseTo(delays[Math.floor(0.9 * delays.length)]!, 3)

    const none = await store.responseTimes({ brand: 'Lumen', from: '2030-01-01T00:00:00Z' })
    expect(none).toEqual({ mentions: 0, answered: 0, replyRate: 0, medianSeconds: null, p90Seconds: null })
  })
})
