// The wall's live state over a long run: every buffer stays bounded however much arrives, open
// alerts are never let go, the banner puts what needs a person first, and a snapshot resets all.
import { describe, expect, it } from 'vitest'
import type { Alert, ScoredPost, Snapshot, WindowAggregate } from '../../pipelines/schema.ts'
import { KEEP_ALERTS, KEEP_MINUTES, KEEP_POSTS, Wall } from '../../client/src/lib/wall.svelte.ts'

const T0 = Date.parse('2026-11-23T09:00:00.000Z')
const MINUTE = 60_000
let n = 0
const post = (brand: string, o: Partial<ScoredPost['sentiment']> = {}): ScoredPost => ({
  id: `simulator:${++n}`,
  source: 'simulator',
  url: '',
  author: { id: `a${n}`, handle: `a${n}`, displayName: '', followers: 1 },
  text: `${brand} post ${n}`,
  lang: 'en',
  language: 'en',
  createdAt: new Date(T0 + n * 1000).toISOString(),
  engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
  brands: [brand],
  terms: [],
  sentiment: {
    label: 'positive',
    scores: { negative: 0, neutral: 0, positive: 1 },
    confidence: 1,
    mixed: false,
    uncertain: false,
    intents: [],
    emotions: [],
    ...o,
  },
})
const window = (brand: string, minute: number): WindowAggregate =>
  ({ brand, minute: new Date(minute).toISOString(), posts: 1, negative: 0, neutral: 0, positive: 1 }) as WindowAggregate
const alert = (i: number, o: Partial<Alert> = {}): Alert => ({
  id: `Lumen:${i}`,
  brand: 'Lumen',
  at: new Date(T0 + i * MINUTE).toISOString(),
  severity: 'warning',
  state: 'resolved',
  title: `alert ${i}`,
  why: { summary: '', terms: [], examplePostIds: [] },
  ...o,
})
const snapshot = (o: Partial<Snapshot> = {}): Snapshot => ({
  serverTime: new Date(T0).toISOString(),
  watermark: null,
  brands: [
    { name: 'Lumen', handles: [], keywords: ['Lumen'], competitors: ['Corvid'] },
    { name: 'Corvid', handles: [], keywords: ['Corvid'], competitors: [] },
  ],
  aggregates: [],
  recentPosts: [],
  metrics: [],
  risk: [],
  responsiveness: [],
  dialogue: [],
  alerts: [],
  ...o,
})

describe('the wall, live for days', () => {
  it('keeps each brand its own bounded buffers of posts and of the middle', () => {
    const wall = new Wall()
    wall.applySnapshot(snapshot())
    for (let i = 0; i < 2_000; i++)
      wall.addPosts([post('Lumen', { label: i % 2 ? 'neutral' : 'positive' }), post('Lumen')])
    wall.addPosts([post('Corvid', { intents: ['question'] })])
    expect(wall.posts.get('Lumen')).toHaveLength(KEEP_POSTS)
    expect(wall.middlePosts.get('Lumen')).toHaveLength(KEEP_POSTS)
    expect(wall.middlePosts.get('Lumen')!.every((p) => p.sentiment!.label === 'neutral')).toBe(true)
    // A quiet rival's posts are not pushed out by the busy brand.
    expect(wall.middlePosts.get('Corvid')).toHaveLength(1)
    wall.selected = 'Corvid'
    expect(wall.brandMiddle.map((p) => p.text)).toEqual([expect.stringMatching(/^Corvid/)])
    // Newest first.
    const lumen = wall.posts.get('Lumen')!
    expect(Date.parse(lumen[0]!.createdAt)).toBeGreaterThan(Date.parse(lumen[1]!.createdAt))
  })

  it('keeps minutes for KEEP_MINUTES, and every alert still open however many come after', () => {
    const wall = new Wall()
    wall.applySnapshot(snapshot())
    for (let m = 0; m < 10 * KEEP_MINUTES; m++)
      wall.applyWindows([window('Lumen', T0 + m * MINUTE), window('Corvid', T0 + m * MINUTE)])
    expect(wall.windows.size).toBeLessThanOrEqual(2 * (KEEP_MINUTES + 1))
    wall.applyAlert(alert(0, { state: 'open' }))
    for (let i = 1; i < 10 * KEEP_ALERTS; i++) wall.applyAlert(alert(i))
    expect(wall.alerts.size).toBe(KEEP_ALERTS)
    expect(wall.activeAlerts.map((a) => a.id)).toEqual(['Lumen:0'])
  })

  it('puts open alerts before acknowledged ones on the banner, critical first, then the newest', () => {
    const wall = new Wall()
    wall.applySnapshot(snapshot())
    wall.applyAlert(alert(1, { state: 'open', severity: 'warning' }))
    wall.applyAlert(alert(2, { state: 'open', severity: 'critical' }))
    wall.applyAlert(alert(3, { state: 'acknowledged', severity: 'critical' }))
    wall.applyAlert(alert(4, { state: 'open', severity: 'warning' }))
    wall.applyAlert(alert(5, { state: 'resolved', severity: 'critical' }))
    expect(wall.activeAlerts.map((a) => a.id)).toEqual(['Lumen:2', 'Lumen:4', 'Lumen:1', 'Lumen:3'])
  })

  it('takes its own acknowledgement only for an alert still open: a later escalation or resolution stands', () => {
    const wall = new Wall()
    wall.applySnapshot(snapshot())
    wall.applyAlert(alert(1, { state: 'open', severity: 'warning' }))
    wall.applyAcknowledged(alert(1, { state: 'acknowledged', severity: 'warning' }))
    expect(wall.alerts.get('Lumen:1')).toMatchObject({ state: 'acknowledged' })
    // Resolved (live) before the answer came back: it stays resolved, off the banner.
    wall.applyAlert(alert(2, { state: 'resolved' }))
    wall.applyAcknowledged(alert(2, { state: 'acknowledged' }))
    expect(wall.alerts.get('Lumen:2')).toMatchObject({ state: 'resolved' })
    // Escalated (live) while the answer was on its way: acknowledged, and still critical.
    wall.applyAlert(alert(3, { state: 'open', severity: 'critical' }))
    wall.applyAcknowledged(alert(3, { state: 'acknowledged', severity: 'warning' }))
    expect(wall.alerts.get('Lumen:3')).toMatchObject({ state: 'acknowledged', severity: 'critical' })
  })

  it('takes everything from a snapshot, event time included, even behind where it was', () => {
    const wall = new Wall()
    wall.applySnapshot(
      snapshot({ watermark: new Date(T0 + 60 * MINUTE).toISOString(), alerts: [alert(1, { state: 'open' })] }),
    )
    wall.addPosts([post('Lumen')])
    // A new store, or a replay: event time starts again further back.
    wall.applySnapshot(snapshot({ watermark: new Date(T0).toISOString() }))
    expect(wall.watermark).toBe(T0)
    expect(wall.posts.size).toBe(0)
    expect(wall.activeAlerts).toEqual([])
  })
})
