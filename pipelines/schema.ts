// The one source of truth for what flows through Undertow: posts, scored posts, window aggregates,
// alerts and the socket.io event map. TypeBox gives both the JSON Schema that validates input
// (webhook, replay, config) and the static types the code is written against. The client imports
// this module with `import type` only, so nothing here may have side effects worth bundling.
import Type, { type Static } from 'typebox'
import { EMOTIONS, INTENTS, type LABEL_FILTERS, LABELS, SOURCE_NAMES } from './vocabulary.ts'

const Count = Type.Integer({ minimum: 0 })
/**
 * The largest likes, reposts, replies or quotes a post or an update may carry: the store keeps
 * them as UInt32, where a larger one would be stored wrapped (5e9 as 705,032,704), so it is
 * refused, saying so, like a time outside the store's years (no post has had that many).
 * Followers are kept as UInt64: up to the largest integer JSON carries exactly.
 */
export const MAX_ENGAGEMENT = 4_294_967_295
const EngagementCount = Type.Integer({ minimum: 0, maximum: MAX_ENGAGEMENT })
const Followers = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
const Probability = Type.Number({ minimum: 0, maximum: 1 })
/** ISO 8601 date-time with a zone, e.g. 2026-11-23T14:00:00.000Z. */
const Timestamp = Type.String({ format: 'date-time' })

/**
 * Epoch ms of a Timestamp, NaN when it is none. A leap second (23:59:60, which RFC 3339 and the
 * schema allow and Date.parse refuses) is read as the last millisecond of its minute. RFC 9557's
 * suffixes after the offset (`Z[Europe/Paris]`, `[u-ca=iso8601]`), which the format allows and
 * Date.parse refuses, name a zone or a calendar to show it in: the instant is the offset's.
 */
export function timestampMs(given: string): number {
  const value = given.replace(/(?<=[Zz]|[+-]\d{2}:\d{2})(\[!?[^[\]]+\])+$/, '')
  const ms = Date.parse(value)
  if (!Number.isNaN(ms)) return ms
  const leap = /^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}):60(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(value)
  return leap ? Date.parse(`${leap[1]}:59.999${leap[2]}`) : Number.NaN
}

export const SourceName = Type.Enum(SOURCE_NAMES)
export type SourceName = (typeof SOURCE_NAMES)[number]

export const Author = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 512 }),
    handle: Type.String({ minLength: 1, maxLength: 256 }),
    displayName: Type.String({ maxLength: 512 }),
    followers: Followers,
  },
  { additionalProperties: false },
)
export type Author = Static<typeof Author>

export const Engagement = Type.Object(
  { likes: EngagementCount, reposts: EngagementCount, replies: EngagementCount, quotes: EngagementCount },
  { additionalProperties: false },
)
export type Engagement = Static<typeof Engagement>

const postProperties = {
  /** Unique across sources: `<source>:<native id>`. */
  id: Type.String({ minLength: 1, maxLength: 512 }),
  source: SourceName,
  url: Type.String({ maxLength: 2048 }),
  author: Author,
  text: Type.String({ maxLength: 20_000 }),
  /** BCP 47 language tag as the network reports it; '' when unknown. */
  lang: Type.String({ maxLength: 35 }),
  createdAt: Timestamp,
  replyTo: Type.Optional(Type.String({ maxLength: 512 })),
  quoteOf: Type.Optional(Type.String({ maxLength: 512 })),
  engagement: Engagement,
  /** Tracked brands the post mentions (the author's own brand excluded). Filled by `match`. */
  brands: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 64 }),
  /** Keywords and handles that matched. Filled by `match`. */
  terms: Type.Array(Type.String({ maxLength: 256 }), { maxItems: 256 }),
  /** Set when the author is one of a tracked brand's own accounts (used for responsiveness). */
  ownBrand: Type.Optional(Type.String({ maxLength: 128 })),
  /**
   * On a brand's own reply to a post that mentions the brand: when that post was created. Filled
   * by `relate` from the posts it saw lately; response times are measured with it.
   */
  answersMentionAt: Type.Optional(Timestamp),
  /** On such a reply: whether that mention needed a reply (see ScoredPost.needsReply). */
  mentionNeedsReply: Type.Optional(Type.Boolean()),
  /**
   * In a conversation under one of a brand's own posts (not a reply itself): that post, the brand,
   * and how deep this reply is (1 for a direct reply). Filled by `relate`.
   */
  thread: Type.Optional(
    Type.Object(
      { root: Type.String(), brand: Type.String(), depth: Type.Integer({ minimum: 1 }) },
      { additionalProperties: false },
    ),
  ),
}

export const Post = Type.Object(postProperties, { additionalProperties: false })
export type Post = Static<typeof Post>

export const Label = Type.Enum(LABELS)
export type Label = (typeof LABELS)[number]
export type LabelFilter = (typeof LABEL_FILTERS)[number]

export const Intent = Type.Enum(INTENTS)
export type Intent = (typeof INTENTS)[number]

export const Emotion = Type.Enum(EMOTIONS)
export type Emotion = (typeof EMOTIONS)[number]

export const Sentiment = Type.Object(
  {
    label: Label,
    scores: Type.Object({ negative: Probability, neutral: Probability, positive: Probability }),
    /** Probability of the chosen label. */
    confidence: Probability,
    /** Positive and negative both substantial in one post. */
    mixed: Type.Boolean(),
    /** The classifier cannot tell (high entropy); not the same as confidently neutral. */
    uncertain: Type.Boolean(),
    intents: Type.Array(Intent),
    /** Empty where none is read, and always with a classifier that reads no emotions (lexicon). */
    emotions: Type.Array(Emotion, { maxItems: EMOTIONS.length, uniqueItems: true }),
  },
  { additionalProperties: false },
)
export type Sentiment = Static<typeof Sentiment>

export const ScoredPost = Type.Object(
  {
    ...postProperties,
    /**
     * The language read from the text (models/language.ts): ISO 639-1, the network's tag where
     * the text is too short to tell, '' where neither says.
     */
    language: Type.String({ maxLength: 35 }),
    /**
     * Absent when the post is unscored: written in a language the classifier does not read
     * (SCORED_LANGUAGES). It is stored and counted in volume and share of voice, and left out of
     * every sentiment figure, the middle and the backlash score (docs/sentiment.md).
     */
    sentiment: Type.Optional(Sentiment),
    /**
     * The brands this mention waits for an answer from: a question, a complaint or a support need,
     * and by configuration every direct @-mention (pipelines/metrics/replies.ts). Filled by `triage`.
     */
    needsReply: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 64 })),
  },
  { additionalProperties: false },
)
export type ScoredPost = Static<typeof ScoredPost>

/**
 * Likes, reposts, replies or quotes arriving after the post: deltas, not totals. `id` names the
 * event that caused them (a like's record URI, say), so an update that arrives twice counts once.
 */
export const EngagementUpdate = Type.Object(
  { id: Type.String({ minLength: 1 }), postId: Type.String({ minLength: 1 }), at: Timestamp, delta: Engagement },
  { additionalProperties: false },
)
export type EngagementUpdate = Static<typeof EngagementUpdate>

/** A post its author deleted (`postId` as the post's `id`), which Undertow must forget too. */
export const PostDeletion = Type.Object(
  { postId: Type.String({ minLength: 1, maxLength: 512 }), at: Timestamp },
  { additionalProperties: false },
)
export type PostDeletion = Static<typeof PostDeletion>

/** What a source emits. */
export type SourceEvent =
  | { kind: 'post'; post: Post }
  | { kind: 'engagement'; update: EngagementUpdate }
  | ({ kind: 'delete' } & PostDeletion)

/** An engagement update with the brands and source of its post, so aggregates need no join. */
export interface AttributedEngagement extends EngagementUpdate {
  source: SourceName | ''
  brands: readonly string[]
}

/** A post remembered lately (transforms/relate.ts), and what the store seeds that memory with at start. */
export interface RecentPost {
  id: string
  source: Post['source']
  brands: readonly string[]
  createdAt: string
  /** The brands it waits for a reply from, once `triage` has told. */
  needsReply?: readonly string[]
  /** A brand's own post that is not a reply: the brand (replies to it make its dialogue). */
  broadcastBy?: string
  thread?: Post['thread']
  /** A mention (a post with brands) seen this run: what decides whether it needs a reply, until triage has told. */
  text?: string
  terms?: readonly string[]
  /** Its text was forgotten (too many mentions since) before its needs were known: the store has them. */
  storedNeeds?: true
}

/** What responsiveness and dialogue resume from after a restart. */
export interface ConversationSeed {
  mentions: { brand: string; id: string; at: number; negative: boolean }[]
  /** The brand's first reply to each mention that needed one. */
  answers: { brand: string; mentionId: string; at: number }[]
  ownPosts: { brand: string; id: string; at: number }[]
  threadReplies: { brand: string; root: string; at: number; depth: number }[]
}

/** Mentions of one brand in one event-time minute (the brand's own posts excluded). */
export const WindowAggregate = Type.Object(
  {
    brand: Type.String(),
    /** Start of the minute, ISO 8601 UTC. */
    minute: Timestamp,
    posts: Count,
    negative: Count,
    neutral: Count,
    positive: Count,
    mixed: Count,
    uncertain: Count,
    /** Posts in a language the classifier does not read: in `posts`, in no label. */
    unscored: Count,
  },
  { additionalProperties: false },
)
export type WindowAggregate = Static<typeof WindowAggregate>

/** The posts of a search (GET /api/posts/series) in one minute or hour, by label. */
export const PostBucket = Type.Object(
  {
    /** Start of the minute or hour, ISO 8601 UTC. */
    minute: Timestamp,
    posts: Count,
    negative: Count,
    neutral: Count,
    positive: Count,
    unscored: Count,
  },
  { additionalProperties: false },
)
export type PostBucket = Static<typeof PostBucket>

/** The sliding windows every metric is kept over, in event-time minutes (the newest minute included). */
export const WINDOW_MINUTES = { '1m': 1, '15m': 15, '1h': 60, '24h': 1440 } as const
export type WindowName = keyof typeof WINDOW_MINUTES
export const WINDOW_NAMES = Object.keys(WINDOW_MINUTES) as WindowName[]
/** Metrics over every source together carry this in place of a source name. */
export const ALL_SOURCES = 'all'
const Ratio = Type.Union([Type.Number(), Type.Null()])

/**
 * One brand's mentions over one window and one source (or all): the definitions are in
 * docs/metrics.md and pipelines/metrics/definition.ts, and the live pipeline and the store's
 * history query compute them identically. Ratios are null when nothing was counted.
 */
export const BrandMetrics = Type.Object(
  {
    brand: Type.String(),
    source: Type.Union([SourceName, Type.Literal(ALL_SOURCES)]),
    window: Type.Enum(WINDOW_NAMES),
    /** Start of the first minute and end of the last (exclusive), ISO 8601 UTC. */
    from: Timestamp,
    to: Timestamp,
    posts: Count,
    negative: Count,
    neutral: Count,
    positive: Count,
    /** Posts in a language the classifier does not read (schema.ts, ScoredPost.sentiment). */
    unscored: Count,
    /** Neutral, mixed, uncertain, a question or a suggestion: each post once (see definition.ts). */
    middle: Count,
    mixed: Count,
    uncertain: Count,
    intents: Type.Record(Intent, Count),
    emotions: Type.Record(Emotion, Count),
    /** (positive - negative) / scored posts (posts - unscored), from -1 to 1. */
    netSentiment: Ratio,
    /** middle / scored posts. */
    middleShare: Ratio,
    likes: Count,
    reposts: Count,
    replies: Count,
    quotes: Count,
    /** (likes + reposts + replies + quotes) / posts. */
    engagementPerPost: Ratio,
    authors: Count,
    /** Sum of the authors' followers, each author once, as of their latest post in the window. */
    reach: Count,
    /** posts / (posts + the configured competitors' posts) over the same window and source. */
    shareOfVoice: Ratio,
  },
  { additionalProperties: false },
)
export type BrandMetrics = Static<typeof BrandMetrics>

export const SEVERITIES = ['info', 'warning', 'critical'] as const
export type Severity = (typeof SEVERITIES)[number]

export const RISK_PARTS = ['spike', 'negativeShare', 'reachNegativity', 'overdue'] as const
/** One term of the backlash-risk score (pipelines/metrics/risk.ts), with its evidence. */
export const RiskPart = Type.Object(
  {
    name: Type.Enum(RISK_PARTS),
    /** 0..1, before its weight. */
    score: Type.Number(),
    /** What it was scored on (a z, a share or a count), and what the baseline expected. */
    value: Type.Number(),
    expected: Type.Number(),
    detail: Type.String(),
  },
  { additionalProperties: false },
)
export type RiskPart = Static<typeof RiskPart>

const Seconds = Type.Union([Type.Number(), Type.Null()])

/** A mention still waiting for the brand's reply. */
export const WaitingMention = Type.Object(
  { id: Type.String(), at: Timestamp, ageSeconds: Type.Number(), negative: Type.Boolean() },
  { additionalProperties: false },
)

/** How a brand answers the mentions that need a reply, live (pipelines/metrics/replies.ts). */
export const Responsiveness = Type.Object(
  {
    brand: Type.String(),
    /** Event time this was measured at. */
    at: Timestamp,
    /** Over the mentions of the last 24 hours of event time: those needing a reply, and those answered. */
    needingReply: Count,
    answered: Count,
    replyRate: Ratio,
    /** The reply target (REPLY_TARGET_MINUTES) these figures are held to. */
    targetSeconds: Type.Number({ minimum: 0 }),
    /** Time to the brand's first reply, answered mentions only. */
    medianSeconds: Seconds,
    p90Seconds: Seconds,
    /** Mentions still waiting, by age: under 15 min, under 1 h, under 4 h, under 24 h, older. */
    waitingByAge: Type.Array(Count),
    /** Past the reply target (one hour): how many, how many negative, and the oldest (up to 20). */
    overdue: Count,
    overdueNegative: Count,
    oldestOverdue: Type.Array(WaitingMention),
  },
  { additionalProperties: false },
)
export type Responsiveness = Static<typeof Responsiveness>

/** How a brand's own posts start conversations (pipelines/metrics/dialogue.ts). */
export const Dialogue = Type.Object(
  {
    brand: Type.String(),
    /** Event time this was measured at; the posts are those of the 24 hours before it. */
    at: Timestamp,
    /** The brand's own posts that are not replies (its broadcasts). */
    ownPosts: Count,
    /** Replies in their threads by others than the brand, however deep. */
    replies: Count,
    /** replies / ownPosts. */
    conversationRate: Ratio,
    /** Own posts with at least one reply, and those with none (broadcast only). */
    conversations: Count,
    broadcastOnly: Count,
    /** The own posts with the most replies (up to 10): replies and the deepest reply. */
    top: Type.Array(
      Type.Object({ id: Type.String(), at: Timestamp, replies: Count, depth: Count }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
)
export type Dialogue = Static<typeof Dialogue>

/** A brand's backlash risk as of the end of one event-time minute. */
export const RiskReading = Type.Object(
  {
    brand: Type.String(),
    /** Start of the minute read. */
    minute: Timestamp,
    /** 0..100: the parts' scores, weighted. */
    score: Type.Number({ minimum: 0, maximum: 100 }),
    parts: Type.Array(RiskPart),
    /** The brand's baseline is still too young to alert on. */
    warming: Type.Boolean(),
  },
  { additionalProperties: false },
)
export type RiskReading = Static<typeof RiskReading>

export const Alert = Type.Object(
  {
    id: Type.String(),
    brand: Type.String(),
    /** When it was raised (event time); kept through its later states. */
    at: Timestamp,
    severity: Type.Enum(SEVERITIES),
    state: Type.Enum(['open', 'acknowledged', 'resolved']),
    title: Type.String(),
    /** Why it fired, in words and evidence, so the war room can act without digging. */
    why: Type.Object({
      summary: Type.String(),
      terms: Type.Array(Type.String()),
      examplePostIds: Type.Array(Type.String()),
      /** The backlash-risk score (0..100) at its latest state, and its parts. */
      score: Type.Optional(Type.Number()),
      parts: Type.Optional(Type.Array(RiskPart)),
    }),
  },
  { additionalProperties: false },
)
export type Alert = Static<typeof Alert>

/** One brand as tracked: its name, its own accounts, the words that mention it, its rivals. */
export const TrackedBrand = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    handles: Type.Array(Type.String({ minLength: 1 })),
    keywords: Type.Array(Type.String({ minLength: 1 })),
    competitors: Type.Array(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
)
export type TrackedBrand = Static<typeof TrackedBrand>

/** What a wall needs on (re)connect; live deltas follow. */
export interface Snapshot {
  serverTime: string
  watermark: string | null
  /** The primary brand first, then its competitors. */
  brands: TrackedBrand[]
  /** Per-minute windows of the last SNAPSHOT_MINUTES, oldest first, all brands. */
  aggregates: WindowAggregate[]
  /** Newest first. */
  recentPosts: ScoredPost[]
  /** The live metrics of every brand x source x window, as last pushed. */
  metrics: BrandMetrics[]
  /** Each brand's latest backlash-risk reading. */
  risk: RiskReading[]
  /** Each brand's latest responsiveness, and dialogue on its own posts. */
  responsiveness: Responsiveness[]
  dialogue: Dialogue[]
  /** The latest state of the alerts raised lately (RECENT_ALERTS), newest change last. */
  alerts: Alert[]
}

/** Once a second: how far event time has got, so a wall can tell a quiet stream from a stale one. */
export interface Clock {
  serverTime: string
  /** createdAt of the newest post pushed live; null before the first. */
  watermark: string | null
}

/**
 * socket.io events, versioned. A wire event is never changed in place: a new shape gets a new
 * name (`.v2`) and the old one is served until clients have moved.
 */
export const EVENTS = {
  snapshot: 'snapshot.v1',
  aggregatesUpdated: 'aggregates.updated.v1',
  postsAdded: 'posts.added.v1',
  alertRaised: 'alert.raised.v1',
  alertUpdated: 'alert.updated.v1',
  riskUpdated: 'risk.updated.v1',
  responsivenessUpdated: 'responsiveness.updated.v1',
  teamPosts: 'team.posts.v1',
  dialogueUpdated: 'dialogue.updated.v1',
  metricsUpdated: 'metrics.updated.v1',
  clock: 'clock.v1',
} as const

export interface ServerToClientEvents {
  'snapshot.v1': (snapshot: Snapshot) => void
  /** Full current values of the windows that changed since the last delta. */
  'aggregates.updated.v1': (windows: WindowAggregate[]) => void
  /** Newly scored posts, newest last. */
  'posts.added.v1': (posts: ScoredPost[]) => void
  'alert.raised.v1': (alert: Alert) => void
  /** A raised alert's new state: escalated, acknowledged or resolved (same id). */
  'alert.updated.v1': (alert: Alert) => void
  /** Each brand's backlash risk for the minutes that just ended. */
  'risk.updated.v1': (readings: RiskReading[]) => void
  /** Each brand's responsiveness, as event-time minutes end. */
  'responsiveness.updated.v1': (brands: Responsiveness[]) => void
  /** To a team's room only (connect with `?team=<name>`): the posts routed to it lately. */
  'team.posts.v1': (feed: { team: string; posts: ScoredPost[] }) => void
  /** Each brand's dialogue on its own posts, as event-time minutes end. */
  'dialogue.updated.v1': (brands: Dialogue[]) => void
  /** Every brand x source x window whose figures changed since the last (about once a second). */
  'metrics.updated.v1': (metrics: BrandMetrics[]) => void
  'clock.v1': (clock: Clock) => void
}

// The wall only listens; reconnecting is how it asks for a fresh snapshot.
export type ClientToServerEvents = Record<string, never>
