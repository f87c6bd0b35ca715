// The streams a Mastodon source can follow, and the REST timeline that fills each one's gaps.

/** `public`, `public:local`, `hashtag:<tag>` or `hashtag:local:<tag>`. */
export type MastodonStream = string

/** The stream's query and the matching timeline path, from the configured stream name. */
export function streamParts(stream: MastodonStream): {
  query: Record<string, string>
  timeline: string
  local: boolean
} {
  const hashtag = /^hashtag:(?:(local):)?([\p{L}\p{N}_]+)$/u.exec(stream)
  if (hashtag) {
    const local = hashtag[1] === 'local'
    return {
      query: { stream: local ? 'hashtag:local' : 'hashtag', tag: hashtag[2]! },
      timeline: `/api/v1/timelines/tag/${encodeURIComponent(hashtag[2]!)}`,
      local,
    }
  }
  if (stream === 'public' || stream === 'public:local')
    return { query: { stream }, timeline: '/api/v1/timelines/public', local: stream === 'public:local' }
  throw new Error(`MASTODON_STREAM "${stream}": expected public, public:local, hashtag:<tag> or hashtag:local:<tag>`)
}
