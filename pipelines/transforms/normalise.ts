// normalise: every post, whatever its source, leaves here valid against the Post schema, with
// canonical text (NFC, no control characters, collapsed spaces), handle and timestamp, and without
// the fields only the pipeline fills in. Engagement updates are checked likewise. What cannot be
// made valid goes to the dead-letter record with the schema's own words for why.
import { Compile } from 'typebox/compile'
import { EngagementUpdate, MAX_ENGAGEMENT, Post, PostDeletion, timestampMs } from '../schema.ts'

const validator = Compile(Post)
const engagementValidator = Compile(EngagementUpdate)
const deletionValidator = Compile(PostDeletion)

// Times the store can hold (DateTime: 1970 to 2106). A post outside them is a source's error (a
// client clock, a bad field), not news.
const EARLIEST = Date.UTC(1970, 0, 1)
const LATEST = Date.UTC(2106, 0, 1)

/** The schema's first three complaints, with where each is (and why, for a count the store cannot hold). */
function schemaErrors(
  errors: Iterable<{ instancePath: string; message: string; keyword?: string; params?: object }>,
  fallback: string,
): string {
  const why = (e: { keyword?: string; params?: object }) =>
    e.keyword === 'maximum' && (e.params as { limit?: unknown })?.limit === MAX_ENGAGEMENT
      ? ' (the most the store keeps; a larger count would be stored wrong)'
      : ''
  return (
    [...errors]
      .slice(0, 3)
      .map((e) => `${e.instancePath || '/'} ${e.message}${why(e)}`)
      .join('; ') || fallback
  )
}

// A leap second (23:59:60) is read as the last millisecond of its minute (schema.ts).
function checkTime(field: string, value: string): { ok: true; ms: number } | { ok: false; reason: string } {
  const ms = timestampMs(value)
  if (Number.isNaN(ms)) return { ok: false, reason: `${field} is not a date: ${JSON.stringify(value)}` }
  if (ms < EARLIEST || ms >= LATEST)
    return { ok: false, reason: `${field} ${JSON.stringify(value)} is outside 1970-2105` }
  return { ok: true, ms }
}
// C0/C1 controls other than tab and newline, plus zero-width and bidi overrides that hide text.
const INVISIBLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/g

export type Normalised = { ok: true; post: Post } | { ok: false; reason: string }

export function normaliseOne(input: unknown): Normalised {
  if (!validator.Check(input)) return { ok: false, reason: schemaErrors(validator.Errors(input), 'not a post') }
  const time = checkTime('/createdAt', input.createdAt)
  if (!time.ok) return time
  const text = input.text
    .normalize('NFC')
    .replace(INVISIBLE, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
  if (text.length === 0) return { ok: false, reason: '/text is empty' }
  // Filled in by the pipeline (relate), never taken from a source.
  const { answersMentionAt: _, mentionNeedsReply: __, thread: ___, ...post } = input
  return {
    ok: true,
    post: {
      ...post,
      text,
      author: { ...input.author, handle: input.author.handle.replace(/^@/, '').toLowerCase() },
      createdAt: new Date(time.ms).toISOString(),
    },
  }
}

export type NormalisedEngagement = { ok: true; update: EngagementUpdate } | { ok: false; reason: string }

export function normaliseEngagementOne(input: unknown): NormalisedEngagement {
  if (!engagementValidator.Check(input))
    return { ok: false, reason: schemaErrors(engagementValidator.Errors(input), 'not an engagement update') }
  const time = checkTime('/at', input.at)
  if (!time.ok) return time
  return { ok: true, update: { ...input, at: new Date(time.ms).toISOString() } }
}

export function normaliseDeletionOne(
  input: unknown,
): { ok: true; value: PostDeletion } | { ok: false; reason: string } {
  if (!deletionValidator.Check(input))
    return { ok: false, reason: schemaErrors(deletionValidator.Errors(input), 'not a deletion') }
  const time = checkTime('/at', input.at)
  return time.ok ? { ok: true, value: { postId: input.postId, at: new Date(time.ms).toISOString() } } : time
}
