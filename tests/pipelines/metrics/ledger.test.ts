// Each metric on hand-built streams whose answers are worked out by hand, and the measure operator
// on virtual time (TestScheduler marbles: no real sleeps). That the store's history query gives the
// same figures for the same stream is in tests/pipelines/store/store.test.ts, on both engines.
import { map } from 'rxjs'
import { isMiddle } from '../../../pipelines/vocabulary.ts'
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { MetricsLedger } from '../../../pipelines/metrics/ledger.ts'
import type {
  BrandMetrics,
  Emotion,
  Intent,
  Label,
  ScoredPost,
  SourceName,
  AttributedEngagement,
} from '../../../pipelines/schema.ts'
import { measure, type Measured, METRICS_MS } from '../../../pipelines/transforms/measure.ts'
import { tracking } from '../../support/fixtures.ts'

const T0 = Date.parse('2026-11-23T10:00:00.000Z')
const at = (minute: number, second = 0) => new Date(T0 + minute * 60_000 + second * 1000).toISOString()

let n = 0
function post(o: {
  minute: number
  label?: Label
  brands?: string[]
  author?: string
  followers?: number
  mixed?: boolean
  uncertain?: boolean
  intents?: Intent[]
  emotions?: Emotion[]
  likes?: number
  source?: SourceName
}): ScoredPost {
  const label = o.label ?? 'positive'
  return {
    id: `simulator:${++n}`,
    source: o.source ?? 'simulator',
    url: '',
    author: { id: o.author ?? `a${n}`, handle: o.author ?? `a${n}`, displayName: '', followers: o.followers ?? 10 },
    text: 'text',
    lang: 'en',
    language: 'en',
    createdAt: at(o.minute, 5),
    engagement: { likes: o.likes ?? 0, reposts: 0, replies: 0, quotes: 0 },
    brands: o.brands ?? ['Lumen'],
    terms: [],
    sentiment: {
      label,
      scores: { negative: 0, neutral: 0, positive: 0, [label]: 1 },
      confidence: 1,
      mixed: o.mixed ?? false,
      uncertain: o.uncertain ?? false,
      intents: o.intents ?? [],
      emotions: o.emotions ?? [],
    },
  }
}

const like = (postId: string, minute: number, likes: number): AttributedEngagement => ({
  id: `like:${++n}`,
  postId,
  at: at(minute, 30),
  delta: { likes, reposts: 0, replies: 0, quotes: 0 },
  source: 'simulator',
  brands: ['Lumen'],
})

function ledgerOf(posts: ScoredPost[], engagement: AttributedEngagement[] = []) {
  const ledger = new MetricsLedger(tracking)
  for (const p of posts) ledger.addPost(p)
  for (const e of engagement) ledger.addEngagement(e)
  return ledger
}

const pick = (
  metrics: BrandMetrics[],
  brand: string,
  window: BrandMetrics['window'],
  source: BrandMetrics['source'] = 'all',
) => metrics.find((m) => m.brand === brand && m.window === window && m.source === source)

describe('metric definitions', () => {
  it('counts a post in the middle when it is neutral, mixed, uncertain, a question or a suggestion, once', () => {
    expect(isMiddle(post({ minute: 0, label: 'neutral' }))).toBe(true)
    expect(isMiddle(post({ minute: 0, label: 'negative', mixed: true }))).toBe(true)
    expect(isMiddle(post({ minute: 0, label: 'positive', uncertain: true }))).toBe(true)
    expect(isMiddle(post({ minute: 0, label: 'negative', intents: ['question'] }))).toBe(true)
    expect(isMiddle(post({ minute: 0, label: 'positive', intents: ['suggestion'] }))).toBe(true)
    expect(isMiddle(post({ minute: 0, label: 'negative', intents: ['complaint'] }))).toBe(false)
    expect(isMiddle(post({ minute: 0, label: 'positive', intents: ['praise'] }))).toBe(false)
    const m = pick(
      ledgerOf([
        post({ minute: 0, label: 'neutral', mixed: true, uncertain: true, intents: ['question', 'suggestion'] }),
      ]).metrics(),
      'Lumen',
      '1m',
    )!
    expect(m.middle).toBe(1)
    expect(m.middleShare).toBe(1)
  })

  it('gives volume, mix, net sentiment, middle share and engagement per post', () => {
    const posts = [
      post({ minute: 0, label: 'positive', likes: 4, emotions: ['joy', 'optimism'] }),
      post({ minute: 0, label: 'positive', emotions: ['joy'] }),
      post({ minute: 0, label: 'positive' }),
      post({ minute: 0, label: 'negative', intents: ['complaint'], emotions: ['anger'] }),
      post({ minute: 0, label: 'neutral', intents: ['question'] }),
    ]
    const m = pick(ledgerOf(posts, [like(posts[1]!.id, 0, 6)]).metrics(), 'Lumen', '1m')!
    expect(m).toMatchObject({
      posts: 5,
      positive: 3,
      negative: 1,
      neutral: 1,
      middle: 1,
      likes: 10,
      from: at(0),
      to: at(1),
    })
    expect(m.intents).toMatchObject({ complaint: 1, question: 1, praise: 0 })
    expect(m.emotions).toEqual({ anger: 1, joy: 2, optimism: 1, sadness: 0 })
    expect(m.netSentiment).toBeCloseTo((3 - 1) / 5)
    expect(m.middleShare).toBeCloseTo(1 / 5)
    expect(m.engagementPerPost).toBeCloseTo(10 / 5)
  })

  it('counts later engagement in the minute it arrived, and none for an unattributed update', () => {
    const p = post({ minute: 0 })
    const ledger = ledgerOf(
      [p, post({ minute: 20 })],
      [like(p.id, 20, 3), { ...like(p.id, 20, 100), source: '', brands: [] }],
    )
    const metrics = ledger.metrics()
    expect(pick(metrics, 'Lumen', '1m')!.likes).toBe(3)
    expect(pick(metrics, 'Lumen', '1h')!.likes).toBe(3)
  })

  it('keeps engagement newer than the newest post out of the windows until posts reach its minute', () => {
    const p = post({ minute: 0 })
    const ledger = ledgerOf([p], [like(p.id, 3, 5)])
    expect(pick(ledger.metrics(), 'Lumen', '15m')).toMatchObject({ to: at(1), likes: 0 })
    ledger.addPost(post({ minute: 3 }))
    expect(pick(ledger.metrics(), 'Lumen', '15m')).toMatchObject({ to: at(4), likes: 5 })
  })

  it('slides each window with event time, and keeps late posts in the windows that cover them', () => {
    const ledger = ledgerOf([post({ minute: 0 }), post({ minute: 10 }), post({ minute: 59 }), post({ minute: 70 })])
    let metrics = ledger.metrics()
    expect(['1m', '15m', '1h', '24h'].map((w) => pick(metrics, 'Lumen', w as BrandMetrics['window'])!.posts)).toEqual([
      1, 2, 2, 4,
    ])
    expect(pick(metrics, 'Lumen', '15m')).toMatchObject({ from: at(56), to: at(71) })
    ledger.addPost(post({ minute: 65 }))
    metrics = ledger.metrics()
    expect(['1m', '15m', '1h', '24h'].map((w) => pick(metrics, 'Lumen', w as BrandMetrics['window'])!.posts)).toEqual([
      1, 3, 3, 5,
    ])
    // A day later only the day window remembers, and a post older than a day is late everywhere.
    ledger.addPost(post({ minute: 24 * 60 + 30 }))
    ledger.addPost(post({ minute: 20 }))
    metrics = ledger.metrics()
    expect(['1m', '15m', '1h', '24h'].map((w) => pick(metrics, 'Lumen', w as BrandMetrics['window'])!.posts)).toEqual([
      1, 1, 1, 4,
    ])
    expect(ledger.late).toBe(1)
  })

  it('counts each author once per window, with the followers of their latest post there', () => {
    const posts = [
      post({ minute: 0, author: 'ann', followers: 100 }),
      post({ minute: 0, author: 'bob', followers: 40 }),
      post({ minute: 5, author: 'ann', followers: 120 }),
      post({ minute: 5, author: 'ann', followers: 110 }),
      post({ minute: 2, author: 'ann', followers: 999 }), // earlier than her latest: not her reach now
      post({ minute: 6, author: 'cat', followers: 7 }),
    ]
    const metrics = ledgerOf(posts).metrics()
    expect(pick(metrics, 'Lumen', '1h')).toMatchObject({ authors: 3, reach: 120 + 40 + 7 })
    expect(pick(metrics, 'Lumen', '1m')).toMatchObject({ authors: 1, reach: 7 })
    expect(pick(metrics, 'Lumen', '15m')).toMatchObject({ authors: 3, reach: 167 })
  })

  it('does not let a post from a bad clock move the windows on', () => {
    const ledger = ledgerOf([post({ minute: 0 }), post({ minute: 2 })])
    const future = post({ minute: 0 })
    ledger.addPost({ ...future, createdAt: '2027-06-01T00:00:00.000Z' })
    expect(ledger.early).toBe(1)
    ledger.addPost(post({ minute: 3 }))
    expect(pick(ledger.metrics(), 'Lumen', '15m')).toMatchObject({ to: at(4), posts: 3 })
    // Nothing seen yet: a first post far ahead of the clock is not believed either.
    const fresh = new MetricsLedger(tracking)
    fresh.addPost({ ...future, createdAt: '2099-01-01T00:00:00.000Z' })
    expect(fresh.metrics()).toEqual([])
  })

  it('gives share of voice against the configured competitors, per source', () => {
    const posts = [
      ...[1, 2, 3].map(() => post({ minute: 0, brands: ['Lumen'] })),
      post({ minute: 0, brands: ['Corvid'] }),
      post({ minute: 0, brands: ['Nimbus', 'Lumen'], source: 'mastodon' }),
      post({ minute: 0, brands: ['Nimbus'], source: 'mastodon' }),
    ]
    const metrics = ledgerOf(posts).metrics()
    expect(pick(metrics, 'Lumen', '1m')!.shareOfVoice).toBeCloseTo(4 / 7)
    expect(pick(metrics, 'Lumen', '1m', 'simulator')!.shareOfVoice).toBeCloseTo(3 / 4)
    expect(pick(metrics, 'Lumen', '1m', 'mastodon')!.shareOfVoice).toBeCloseTo(1 / 3)
    // Corvid's rival is Lumen only (the simulator's tracking: competitors of the primary brand).
    expect(pick(metrics, 'Corvid', '1m')!.shareOfVoice).toBeCloseTo(1 / 5)
  })

  it('has no ratio for nothing, and nothing at all before the first event', () => {
    expect(new MetricsLedger(tracking).metrics()).toEqual([])
    const m = pick(ledgerOf([post({ minute: 0 }), post({ minute: 3 })]).metrics(), 'Lumen', '1m', 'simulator')!
    expect(m).toMatchObject({ posts: 1 })
    const empty = pick(
      ledgerOf([
        post({ minute: 0, brands: ['Corvid'] }),
        post({ minute: 3, brands: ['Corvid'] }),
        post({ minute: 0 }),
      ]).metrics(),
      'Lumen',
      '1m',
    )!
    expect(empty).toMatchObject({
      posts: 0,
      netSentiment: null,
      middleShare: null,
      engagementPerPost: null,
      shareOfVoice: 0,
      authors: 0,
      reach: 0,
    })
  })
})

describe('measure (virtual time)', () => {
  const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

  it('pushes the changed windows about once a second, none when nothing came', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const p1 = post({ minute: 0 })
      const p2 = post({ minute: 0, label: 'negative' })
      const events$ = cold<Measured>(`a 2499ms b 2499ms |`, {
        a: { kind: 'post', post: p1 },
        b: { kind: 'post', post: p2 },
      })
      const posts = (values: BrandMetrics[]) =>
        values.filter((m) => m.source === 'all').map((m) => `${m.window}:${m.posts}`)
      const out$ = events$.pipe(measure(tracking, new MetricsLedger(tracking)))
      const counted = { x: ['1m:1', '15m:1', '1h:1', '24h:1'], y: ['1m:2', '15m:2', '1h:2', '24h:2'] }
      // Flushes at 1 s (a) and 3 s (b, sent at 2.5 s); the empty seconds send nothing; done at 5 s.
      expectObservable(out$.pipe(map(posts))).toBe(`${METRICS_MS}ms x 1999ms y 1999ms |`, counted)
    })
  })
})
