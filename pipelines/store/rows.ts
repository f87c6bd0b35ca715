// Between our types and ClickHouse rows, both directions, shared by every store mode.
import type {
  Alert,
  Emotion,
  Intent,
  Label,
  PostDeletion,
  ScoredPost,
  SourceName,
  WindowAggregate,
  AttributedEngagement,
} from '../schema.ts'
import { UNSCORED, isMiddle } from '../vocabulary.ts'

/** DateTime columns take whole epoch seconds; the *_ms column beside each keeps the milliseconds. */
const seconds = (ms: number) => Math.floor(ms / 1000)

/** What an unscored post (a language not read) stores in place of a reading: no label, no probabilities. */
const NO_READING = {
  label: UNSCORED,
  scores: { negative: 0, neutral: 0, positive: 0 },
  confidence: 0,
  mixed: false,
  uncertain: false,
  intents: [],
  emotions: [],
} as const

export function postRow(p: ScoredPost) {
  const createdMs = Date.parse(p.createdAt)
  const s = p.sentiment ?? NO_READING
  return {
    id: p.id,
    source: p.source,
    url: p.url,
    author_id: p.author.id,
    author_handle: p.author.handle,
    author_name: p.author.displayName,
    author_followers: p.author.followers,
    text: p.text,
    lang: p.lang,
    language: p.language,
    created_at: seconds(createdMs),
    created_ms: createdMs,
    reply_to: p.replyTo ?? '',
    quote_of: p.quoteOf ?? '',
    likes: p.engagement.likes,
    reposts: p.engagement.reposts,
    replies: p.engagement.replies,
    quotes: p.engagement.quotes,
    brands: p.brands,
    terms: p.terms,
    own_brand: p.ownBrand ?? '',
    label: s.label,
    p_negative: s.scores.negative,
    p_neutral: s.scores.neutral,
    p_positive: s.scores.positive,
    confidence: s.confidence,
    mixed: s.mixed ? 1 : 0,
    uncertain: s.uncertain ? 1 : 0,
    middle: isMiddle(p) ? 1 : 0,
    needs_reply: p.needsReply ?? [],
    intents: s.intents,
    emotions: s.emotions,
    answers_mention_ms: p.answersMentionAt ? Date.parse(p.answersMentionAt) : 0,
    mention_needs_reply: p.mentionNeedsReply ? 1 : 0,
    thread_root: p.thread?.root ?? '',
    thread_brand: p.thread?.brand ?? '',
    thread_depth: p.thread?.depth ?? 0,
    // Given, not left to DEFAULT: 18.x fills an omitted column with its type's default.
    ingested_at: seconds(Date.now()),
  }
}

export function engagementRow(u: AttributedEngagement) {
  const atMs = Date.parse(u.at)
  return { id: u.id, post_id: u.postId, source: u.source, brands: u.brands, at: seconds(atMs), at_ms: atMs, ...u.delta }
}

export function deletionRow(d: PostDeletion) {
  const atMs = Date.parse(d.at)
  return { post_id: d.postId, at: seconds(atMs), at_ms: atMs }
}

export function alertRow(a: Alert) {
  const atMs = Date.parse(a.at)
  const why = JSON.stringify(a.why)
  // A later state of the same alert must win: the version grows with the state (open, then
  // acknowledged, then resolved) and, within a state, with the time it was written.
  const version = (['open', 'acknowledged', 'resolved'].indexOf(a.state) + 1) * 2 ** 42 + Date.now()
  return {
    id: a.id,
    brand: a.brand,
    at: seconds(atMs),
    at_ms: atMs,
    severity: a.severity,
    state: a.state,
    title: a.title,
    why,
    version,
  }
}

export function alertFromRow(row: Record<string, unknown>): Alert {
  return {
    id: String(row.id),
    brand: String(row.brand),
    at: new Date(Number(row.at_ms)).toISOString(),
    severity: row.severity as Alert['severity'],
    state: row.state as Alert['state'],
    title: String(row.title),
    why: JSON.parse(String(row.why)) as Alert['why'],
  }
}

/** JSONEachRow body; JSON encoding keeps post text data, never SQL. */
export function toJsonEachRow(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n')
}

/** ClickHouse returns UInt64 sums as strings in JSON; we want numbers. */
export function aggregateFromRow(row: Record<string, string | number>): WindowAggregate {
  const n = (key: string) => Number(row[key])
  return {
    brand: String(row.brand),
    minute: new Date(n('start') * 1000).toISOString(),
    posts: n('posts'),
    negative: n('negative'),
    neutral: n('neutral'),
    positive: n('positive'),
    mixed: n('mixed'),
    uncertain: n('uncertain'),
    unscored: n('unscored'),
  }
}

/** A `posts` row back into a ScoredPost. */
export function postFromRow(row: Record<string, unknown>): ScoredPost {
  const n = (key: string) => Number(row[key])
  const str = (key: string) => String(row[key] ?? '')
  return {
    id: str('id'),
    source: str('source') as SourceName,
    url: str('url'),
    author: {
      id: str('author_id'),
      handle: str('author_handle'),
      displayName: str('author_name'),
      followers: n('author_followers'),
    },
    text: str('text'),
    lang: str('lang'),
    language: str('language'),
    createdAt: new Date(n('created_ms')).toISOString(),
    ...(str('reply_to') ? { replyTo: str('reply_to') } : {}),
    ...(str('quote_of') ? { quoteOf: str('quote_of') } : {}),
    engagement: { likes: n('likes'), reposts: n('reposts'), replies: n('replies'), quotes: n('quotes') },
    brands: row.brands as string[],
    terms: row.terms as string[],
    ...(str('own_brand') ? { ownBrand: str('own_brand') } : {}),
    ...(n('answers_mention_ms') > 0
      ? {
          answersMentionAt: new Date(n('answers_mention_ms')).toISOString(),
          mentionNeedsReply: n('mention_needs_reply') === 1,
        }
      : {}),
    ...((row.needs_reply as string[] | undefined)?.length ? { needsReply: row.needs_reply as string[] } : {}),
    ...(str('thread_root')
      ? { thread: { root: str('thread_root'), brand: str('thread_brand'), depth: n('thread_depth') } }
      : {}),
    ...(str('label') === UNSCORED ? {} : { sentiment: sentimentFromRow(row) }),
  }
}

function sentimentFromRow(row: Record<string, unknown>): NonNullable<ScoredPost['sentiment']> {
  const n = (key: string) => Number(row[key])
  const str = (key: string) => String(row[key] ?? '')
  return {
    label: str('label') as Label,
    scores: { negative: n('p_negative'), neutral: n('p_neutral'), positive: n('p_positive') },
    confidence: n('confidence'),
    mixed: n('mixed') === 1,
    uncertain: n('uncertain') === 1,
    intents: row.intents as Intent[],
    emotions: row.emotions as Emotion[],
  }
}
