// What each metric counts, once: the live ledger (ledger.ts) adds posts and engagement with these
// functions, the store's history query (store/queries.ts, METRICS) sums the columns the
// materialized views fill with the same rules (the middle flag is stored with each post), and both turn their counts into
// ratios with derive(). So the wall's live figures and a history query over the same window agree
// to the last digit (tests/pipelines/store/store.test.ts).
import type { BrandMetrics, Emotion, Engagement, Intent, ScoredPost, SourceName, WindowName } from '../schema.ts'
import { EMOTIONS, INTENTS, isMiddle } from '../vocabulary.ts'
import type { ALL_SOURCES } from '../schema.ts'

/** What a minute (or a window) of one brand's mentions adds up to. */
export interface Counts {
  posts: number
  negative: number
  neutral: number
  positive: number
  /** Posts in a language the classifier does not read: in `posts`, in no other count but engagement. */
  unscored: number
  middle: number
  mixed: number
  uncertain: number
  intents: Record<Intent, number>
  emotions: Record<Emotion, number>
  likes: number
  reposts: number
  replies: number
  quotes: number
}

export const emptyCounts = (): Counts => ({
  posts: 0,
  negative: 0,
  neutral: 0,
  positive: 0,
  unscored: 0,
  middle: 0,
  mixed: 0,
  uncertain: 0,
  intents: Object.fromEntries(INTENTS.map((i) => [i, 0])) as Record<Intent, number>,
  emotions: Object.fromEntries(EMOTIONS.map((e) => [e, 0])) as Record<Emotion, number>,
  likes: 0,
  reposts: 0,
  replies: 0,
  quotes: 0,
})

/** The counts that are one number each, as brand_source_minute's columns of the same names hold them. */
export const POST_COUNTS = [
  'posts',
  'negative',
  'neutral',
  'positive',
  'unscored',
  'middle',
  'mixed',
  'uncertain',
] as const
export const ENGAGEMENT_KEYS = ['likes', 'reposts', 'replies', 'quotes'] as const

/** A mention, in its minute; with its own engagement counts as it arrived. */
export function countPost(counts: Counts, post: ScoredPost): void {
  const s = post.sentiment
  counts.posts++
  countEngagement(counts, post.engagement)
  if (!s) {
    counts.unscored++
    return
  }
  counts[s.label]++
  if (isMiddle(post)) counts.middle++
  if (s.mixed) counts.mixed++
  if (s.uncertain) counts.uncertain++
  for (const intent of s.intents) counts.intents[intent]++
  for (const emotion of s.emotions) counts.emotions[emotion]++
}

/** Engagement that arrived later: counted in the minute it arrived, not the post's. */
export function countEngagement(counts: Counts, delta: Engagement): void {
  for (const key of ENGAGEMENT_KEYS) counts[key] += delta[key]
}

export function addCounts(into: Counts, more: Counts): void {
  for (const key of [...POST_COUNTS, ...ENGAGEMENT_KEYS]) into[key] += more[key]
  for (const intent of INTENTS) into.intents[intent] += more.intents[intent]
  for (const emotion of EMOTIONS) into.emotions[emotion] += more.emotions[emotion]
}

export interface WindowFigures {
  brand: string
  source: SourceName | typeof ALL_SOURCES
  window: WindowName
  from: string
  to: string
  counts: Counts
  authors: number
  reach: number
  /** Mentions of the brand's configured competitors over the same window and source. */
  rivalPosts: number
}

const ratio = (part: number, whole: number) => (whole === 0 ? null : part / whole)

/** Counts to metrics: the one place every ratio is defined. */
export function derive(f: WindowFigures): BrandMetrics {
  const c = f.counts
  const engagement = c.likes + c.reposts + c.replies + c.quotes
  // Sentiment and the middle are shares of the posts read; volume and engagement of all.
  const scored = c.posts - c.unscored
  return {
    brand: f.brand,
    source: f.source,
    window: f.window,
    from: f.from,
    to: f.to,
    posts: c.posts,
    negative: c.negative,
    neutral: c.neutral,
    positive: c.positive,
    unscored: c.unscored,
    middle: c.middle,
    mixed: c.mixed,
    uncertain: c.uncertain,
    intents: { ...c.intents },
    emotions: { ...c.emotions },
    netSentiment: ratio(c.positive - c.negative, scored),
    middleShare: ratio(c.middle, scored),
    likes: c.likes,
    reposts: c.reposts,
    replies: c.replies,
    quotes: c.quotes,
    engagementPerPost: ratio(engagement, c.posts),
    authors: f.authors,
    reach: f.reach,
    shareOfVoice: ratio(c.posts, c.posts + f.rivalPosts),
  }
}
