// Between our types and ClickHouse rows, both directions, shared by every store mode.
import type { EngagementUpdate, Intent, Label, ScoredPost, SourceName, WindowAggregate } from '../schema.ts'

export function postRow(p: ScoredPost) {
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
    created_at: p.createdAt,
    reply_to: p.replyTo ?? '',
    quote_of: p.quoteOf ?? '',
    likes: p.engagement.likes,
    reposts: p.engagement.reposts,
    replies: p.engagement.replies,
    quotes: p.engagement.quotes,
    brands: p.brands,
    terms: p.terms,
    own_brand: p.ownBrand ?? '',
    label: p.sentiment.label,
    p_negative: p.sentiment.scores.negative,
    p_neutral: p.sentiment.scores.neutral,
    p_positive: p.sentiment.scores.positive,
    confidence: p.sentiment.confidence,
    mixed: p.sentiment.mixed,
    uncertain: p.sentiment.uncertain,
    intents: p.sentiment.intents,
  }
}

export function engagementRow(u: EngagementUpdate) {
  return { post_id: u.postId, at: u.at, ...u.delta }
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
    minute: new Date(`${String(row.start).replace(' ', 'T')}Z`).toISOString(),
    posts: n('posts'),
    negative: n('negative'),
    neutral: n('neutral'),
    positive: n('positive'),
    mixed: n('mixed'),
    uncertain: n('uncertain'),
  }
}

/** A `posts` row (with `created_iso`, the ISO form of created_at) back into a ScoredPost. */
export function postFromRow(row: Record<string, unknown>): ScoredPost {
  const n = (key: string) => Number(row[key])
  const str = (key: string) => String(row[key] ?? '')
  return {
    id: str('id'),
    source: str('source') as SourceName,
    url: str('url'),
    author: { id: str('author_id'), handle: str('author_handle'), displayName: str('author_name'), followers: n('author_followers') },
    text: str('text'),
    lang: str('lang'),
    createdAt: new Date(str('created_iso')).toISOString(),
    ...(str('reply_to') ? { replyTo: str('reply_to') } : {}),
    ...(str('quote_of') ? { quoteOf: str('quote_of') } : {}),
    engagement: { likes: n('likes'), reposts: n('reposts'), replies: n('replies'), quotes: n('quotes') },
    brands: row.brands as string[],
    terms: row.terms as string[],
    ...(str('own_brand') ? { ownBrand: str('own_brand') } : {}),
    sentiment: {
      label: str('label') as Label,
      scores: { negative: n('p_negative'), neutral: n('p_neutral'), positive: n('p_positive') },
      confidence: n('confidence'),
      mixed: Boolean(row.mixed),
      uncertain: Boolean(row.uncertain),
      intents: row.intents as Intent[],
    },
  }
}
