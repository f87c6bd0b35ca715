// Where a Mastodon source resumes: the newest status read with nothing missing before it, saved in
// its cursor file, and how far before it a backfill starts again.

/** How far before the saved id a backfill starts: ids carry their creation time (id >> 16 is ms). */
export const OVERLAP_MS = 60_000

export interface MastodonCursor {
  /** The newest status read with everything before it read too. */
  newestId: string
  /** The first status read: a backfill never starts before where the stream began. */
  firstId?: string
  /** On a clean stop: the keys of what was passed on within the overlap, with their status ids. */
  recent?: [key: string, id: string][]
}
/** A status id: a numeric string (a snowflake, its creation time in the high bits), compared as a BigInt. */
export const STATUS_ID = /^\d{1,30}$/
export const isMastodonCursor = (v: unknown): v is MastodonCursor => {
  const c = v as MastodonCursor
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof c.newestId === 'string' &&
    STATUS_ID.test(c.newestId) &&
    (c.firstId === undefined || (typeof c.firstId === 'string' && STATUS_ID.test(c.firstId))) &&
    (c.recent === undefined ||
      (Array.isArray(c.recent) &&
        c.recent.every(
          (r) => Array.isArray(r) && typeof r[0] === 'string' && typeof r[1] === 'string' && STATUS_ID.test(r[1]),
        )))
  )
}

/** A status id OVERLAP_MS earlier: the time is in the id's high bits. */
export const rewind = (id: string, ms = OVERLAP_MS) => {
  const earlier = BigInt(id) - (BigInt(ms) << 16n)
  return String(earlier > 0n ? earlier : 0n)
}
