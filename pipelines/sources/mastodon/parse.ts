// Mastodon's wire format, read into Undertow's events: pure functions, one message or one Status at
// a time. Field names are Mastodon's own (docs.joinmastodon.org): streaming messages are
//   {"stream": ["hashtag", "lumen"], "event": "update" | "status.update" | "delete" | ...,
//    "payload": "<a Status serialised as a JSON string>" (or, for delete, the status id)}
// and the REST timelines answer an array of Status entities, newest first.
import type { Post, SourceEvent } from '../../schema.ts'
import { plainText } from '../html.ts'
import { asText, show } from '../show.ts'
import { STATUS_ID } from './cursor.ts'

/** What Undertow reads of a Status entity. */
export interface Status {
  id: string
  uri: string
  url?: string | null
  created_at: string
  content: string
  spoiler_text?: string
  language?: string | null
  in_reply_to_id?: string | null
  reblog?: Status | null
  replies_count?: number
  reblogs_count?: number
  favourites_count?: number
  /** Mastodon 4.4+: a Quote ({state, quoted_status}) or a ShallowQuote ({state, quoted_status_id}). */
  quote?: { state?: string; quoted_status?: { id?: unknown } | null; quoted_status_id?: unknown } | null
  account: { id: string; username: string; acct: string; display_name?: string; followers_count?: number }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isCount = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
const optionalString = (v: unknown) => v === undefined || v === null || typeof v === 'string'

/** The Status, or what is wrong with it. */
export function checkStatus(value: unknown, where = 'status'): Status | string {
  if (!isObject(value)) return `${where}: expected a Status object`
  const s = value
  if (typeof s.id !== 'string' || !STATUS_ID.test(s.id))
    return `${where}.id: expected a numeric string, got ${show(s.id)}`
  if (typeof s.uri !== 'string' || s.uri === '') return `${where}.uri: expected a string`
  if (typeof s.created_at !== 'string' || Number.isNaN(Date.parse(s.created_at)))
    return `${where}.created_at: expected a date, got ${show(s.created_at)}`
  if (typeof s.content !== 'string') return `${where}.content: expected HTML as a string`
  if (!optionalString(s.url) || !optionalString(s.spoiler_text) || !optionalString(s.language))
    return `${where}: url, spoiler_text and language must be strings or null`
  if (
    !(
      s.in_reply_to_id === undefined ||
      s.in_reply_to_id === null ||
      (typeof s.in_reply_to_id === 'string' && STATUS_ID.test(s.in_reply_to_id))
    )
  )
    return `${where}.in_reply_to_id: expected a status id or null`
  if (!isCount(s.replies_count) || !isCount(s.reblogs_count) || !isCount(s.favourites_count))
    return `${where}: replies_count, reblogs_count and favourites_count must be counts`
  const a = s.account
  if (
    !isObject(a) ||
    typeof a.id !== 'string' ||
    typeof a.username !== 'string' ||
    a.username === '' ||
    typeof a.acct !== 'string' ||
    a.acct === ''
  )
    return `${where}.account: expected an Account with id, username and acct`
  if (!optionalString(a.display_name) || !isCount(a.followers_count))
    return `${where}.account: display_name must be a string, followers_count a count`
  if (s.reblog !== undefined && s.reblog !== null) {
    // A boost holds the boosted status, which is never a boost itself: no deeper nesting is read.
    if (isObject(s.reblog) && s.reblog.reblog !== undefined && s.reblog.reblog !== null)
      return `${where}.reblog.reblog: a boost of a boost`
    const inner = checkStatus(s.reblog, `${where}.reblog`)
    if (typeof inner === 'string') return inner
  }
  return s as unknown as Status
}

/** The id of the status this one quotes, when the quote stands (state `accepted`). */
function quotedId(status: Status): string | undefined {
  const q = status.quote
  if (!isObject(q) || q.state !== 'accepted') return undefined
  const id = isObject(q.quoted_status) ? q.quoted_status.id : q.quoted_status_id
  return typeof id === 'string' && STATUS_ID.test(id) ? id : undefined
}

/** Ids are per instance: `mastodon:<host>/<status id>`, so a delete (which names the id) finds it. */
export const statusId = (host: string, id: string) => `mastodon:${host}/${id}`

const ZERO = { likes: 0, reposts: 0, replies: 0, quotes: 0 }

/** The events a Status stands for: a post (and a reply counted on its parent), or a boost. */
export function eventsOf(status: Status, host: string): SourceEvent[] {
  const id = statusId(host, status.id)
  if (status.reblog) {
    // A boost is engagement on the boosted status, not a post of its own.
    return [
      {
        kind: 'engagement',
        update: {
          id,
          postId: statusId(host, status.reblog.id),
          at: new Date(Date.parse(status.created_at)).toISOString(),
          delta: { ...ZERO, reposts: 1 },
        },
      },
    ]
  }
  const at = new Date(Date.parse(status.created_at)).toISOString()
  const quoted = quotedId(status)
  const warning = status.spoiler_text ? `${status.spoiler_text}\n\n` : ''
  const acct = status.account.acct.includes('@') ? status.account.acct : `${status.account.acct}@${host}`
  const post: Post = {
    id,
    source: 'mastodon',
    url: status.url ?? status.uri,
    author: {
      id: `${host}/${status.account.id}`,
      handle: acct.toLowerCase(),
      displayName: status.account.display_name ?? '',
      followers: status.account.followers_count ?? 0,
    },
    text: `${warning}${plainText(status.content)}`,
    lang: status.language ?? '',
    createdAt: at,
    ...(status.in_reply_to_id ? { replyTo: statusId(host, status.in_reply_to_id) } : {}),
    ...(quoted ? { quoteOf: statusId(host, quoted) } : {}),
    engagement: {
      likes: status.favourites_count ?? 0,
      reposts: status.reblogs_count ?? 0,
      replies: status.replies_count ?? 0,
      quotes: 0,
    },
    brands: [],
    terms: [],
  }
  // A status with nothing to read (media alone, no words) is no post: there is nothing to classify.
  // As a reply or a quote it still counts on the status it answers.
  const events: SourceEvent[] = post.text.trim() === '' ? [] : [{ kind: 'post', post }]
  if (status.in_reply_to_id)
    events.push({
      kind: 'engagement',
      update: { id: `${id}#reply`, postId: statusId(host, status.in_reply_to_id), at, delta: { ...ZERO, replies: 1 } },
    })
  if (quoted)
    events.push({
      kind: 'engagement',
      update: { id: `${id}#quote`, postId: statusId(host, quoted), at, delta: { ...ZERO, quotes: 1 } },
    })
  return events
}

export type StreamReading =
  | { ok: true; events: SourceEvent[]; newestId?: string }
  /** `serverError`: the server's own complaint ({"error", "status"}), not a malformed message. */
  | { ok: false; reason: string; serverError?: boolean }

/** One streaming message (a WebSocket text frame). `at` is when it arrived: deletes carry no time. */
export function readStreamMessage(text: string, host: string, at: Date): StreamReading {
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` }
  }
  if (!isObject(message)) return { ok: false, reason: 'not a JSON object' }
  if (typeof message.error === 'string')
    return {
      ok: false,
      serverError: true,
      reason: `server error${typeof message.status === 'number' ? ` ${message.status}` : ''}: ${asText(message.error)}`,
    }
  const { event, payload } = message
  if (typeof event !== 'string') return { ok: false, reason: `event: expected a string, got ${show(event)}` }
  if (event === 'delete') {
    if (typeof payload !== 'string' || !STATUS_ID.test(payload))
      return { ok: false, reason: `delete payload: expected a status id, got ${show(payload)}` }
    return { ok: true, events: [{ kind: 'delete', postId: statusId(host, payload), at: at.toISOString() }] }
  }
  if (event !== 'update' && event !== 'status.update') return { ok: true, events: [] }
  if (typeof payload !== 'string')
    return { ok: false, reason: `${event} payload: expected a Status serialised as a JSON string` }
  let status: unknown
  try {
    status = JSON.parse(payload)
  } catch (error) {
    return { ok: false, reason: `${event} payload: not JSON: ${(error as Error).message}` }
  }
  const checked = checkStatus(status, `${event} payload`)
  if (typeof checked === 'string') return { ok: false, reason: checked }
  return { ok: true, events: eventsOf(checked, host), newestId: checked.id }
}

/** The larger of two status ids (numeric strings of any length). */
export const newerId = (a: string | undefined, b: string | undefined): string | undefined =>
  a === undefined ? b : b === undefined ? a : BigInt(a) >= BigInt(b) ? a : b

/** What one status of a timeline page reads as: its events, or why it cannot be read. */
export type PageItem =
  | { ok: true; status: Status; events: SourceEvent[] }
  | { ok: false; reason: string; payload: unknown }

/**
 * A REST timeline page (newest first, as Mastodon answers), read oldest first, so that whoever
 * takes the items in order only moves its saved id over statuses read. `newestId` is the page's
 * newest id, a malformed status's included (it is behind us all the same).
 */
export function readTimelinePage(body: unknown, host: string, path: string): { items: PageItem[]; newestId?: string } {
  if (!Array.isArray(body)) throw new Error(`${path} answered something other than a list of statuses`)
  const items: PageItem[] = []
  let newestId: string | undefined
  for (const item of [...body].reverse()) {
    const rawId =
      typeof (item as { id?: unknown })?.id === 'string' && STATUS_ID.test((item as { id: string }).id)
        ? (item as { id: string }).id
        : undefined
    try {
      const status = checkStatus(item, 'timeline status')
      items.push(
        typeof status === 'string'
          ? { ok: false, reason: status, payload: item }
          : { ok: true, status, events: eventsOf(status, host) },
      )
    } catch (error) {
      items.push({
        ok: false,
        reason: `timeline status could not be read: ${(error as Error).message}`,
        payload: rawId ?? 'unidentified',
      })
    }
    newestId = newerId(newestId, rawId)
  }
  return newestId === undefined ? { items } : { items, newestId }
}
