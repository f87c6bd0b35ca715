// Jetstream's wire format, read into Undertow's events: pure functions, one message at a time, so
// the parser is tested and benchmarked without sockets. Field names are Jetstream's own
// (github.com/bluesky-social/jetstream): v1 `/subscribe` frames are
//   {"did", "time_us", "kind": "commit" | "identity" | "account", "commit": {"rev", "operation",
//    "collection", "rkey", "record", "cid"}, "identity": {...}, "account": {...}}
// and v2 `/xrpc/network.bsky.jetstream.subscribeEvents` frames are
//   {"$type": "message", "payload": {"$type": "network.bsky.jetstream.subscribeEvents#commit",
//    "seq", "did", "time", "rev", "operation", "collection", "rkey", "record", "cid"}}
// or {"$type": "error", "error", "message"}, with commit fields flat in the payload.
import type { EngagementUpdate, Post, SourceEvent } from '../../schema.ts'
import { asText, show } from '../show.ts'

export const POST = 'app.bsky.feed.post'
export const LIKE = 'app.bsky.feed.like'
export const REPOST = 'app.bsky.feed.repost'
export const COLLECTIONS = [POST, LIKE, REPOST] as const

const V2_TYPE = 'network.bsky.jetstream.subscribeEvents#'

/** One Jetstream event, whatever the protocol version, reduced to what Undertow reads. */
export interface JetstreamEvent {
  /** Jetstream's own clock for the event, in unix microseconds (v1 `time_us`, v2 `time`). */
  timeUs: number
  /** v2 only: the event's sequence number, the v2 cursor. */
  seq?: number
  did: string
  commit?: {
    operation: 'create' | 'update' | 'delete'
    collection: string
    rkey: string
    record?: Record<string, unknown>
  }
  /** A handle the network now knows this DID by. */
  handle?: string
}

export type Frame =
  | { ok: true; event: JetstreamEvent }
  /** A frame that is well formed but carries no event: v2 `#info`, or an account event. */
  | { ok: true; event?: undefined; info?: string }
  /** The server ends the stream (v2 error frame): reconnect. */
  | { ok: false; fatal: true; reason: string }
  | { ok: false; fatal?: false; reason: string }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const OPERATIONS = new Set(['create', 'update', 'delete'])
/** DIDs are `did:<method>:<id>`; a record key is at most 512 characters of a restricted set. */
const DID = /^did:[a-z]+:[A-Za-z0-9._:%-]{1,2048}$/
/** A handle is a domain name (at most 253 characters). */
const HANDLE = /^[a-zA-Z0-9.-]{1,253}$/
const handleOf = (identity: unknown) =>
  isObject(identity) && typeof identity.handle === 'string' && HANDLE.test(identity.handle)
    ? identity.handle.toLowerCase()
    : undefined
const RKEY = /^[A-Za-z0-9._:~-]{1,512}$/

function parseJson(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` }
  }
  return isObject(value) ? { ok: true, value } : { ok: false, reason: 'not a JSON object' }
}

function commitOf(fields: Record<string, unknown>, where: string): JetstreamEvent['commit'] | string {
  const { operation, collection, rkey, record } = fields
  if (typeof operation !== 'string' || !OPERATIONS.has(operation))
    return `${where}operation: expected create, update or delete, got ${show(operation)}`
  if (typeof collection !== 'string' || collection === '') return `${where}collection: expected an NSID`
  if (typeof rkey !== 'string' || !RKEY.test(rkey)) return `${where}rkey: expected a record key`
  if (operation !== 'delete' && !isObject(record)) return `${where}record: expected an object on ${operation}`
  return {
    operation: operation as 'create' | 'update' | 'delete',
    collection,
    rkey,
    ...(isObject(record) ? { record } : {}),
  }
}

/** A v1 `/subscribe` text frame. */
export function parseV1(text: string): Frame {
  const json = parseJson(text)
  if (!json.ok) return json
  const { did, time_us: timeUs, kind } = json.value
  if (typeof did !== 'string' || !DID.test(did)) return { ok: false, reason: `did: expected a DID, got ${show(did)}` }
  if (typeof timeUs !== 'number' || !Number.isSafeInteger(timeUs) || timeUs <= 0)
    return { ok: false, reason: `time_us: expected unix microseconds, got ${show(timeUs)}` }
  if (kind === 'commit') {
    if (!isObject(json.value.commit)) return { ok: false, reason: 'commit: expected an object on a commit event' }
    const commit = commitOf(json.value.commit, 'commit.')
    return typeof commit === 'string' ? { ok: false, reason: commit } : { ok: true, event: { timeUs, did, commit } }
  }
  if (kind === 'identity') {
    const handle = handleOf(json.value.identity)
    return { ok: true, event: { timeUs, did, ...(handle ? { handle } : {}) } }
  }
  if (kind === 'account') return { ok: true, event: { timeUs, did } }
  return { ok: false, reason: `kind: expected commit, identity or account, got ${show(kind)}` }
}

/** v2 `time`: RFC 3339 with microseconds, e.g. 2024-09-09T19:46:02.329308Z. */
function microsOf(time: string): number | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(time)
  if (!match) return undefined
  const seconds = Date.parse(`${match[1]}${match[3]}`)
  if (Number.isNaN(seconds)) return undefined
  return seconds * 1000 + Number((match[2] ?? '').padEnd(6, '0').slice(0, 6))
}

/** A v2 `subscribeEvents` frame (JSON framing, `xrpc.v1.json`). */
export function parseV2(text: string): Frame {
  const json = parseJson(text)
  if (!json.ok) return json
  const frame = json.value
  if (frame.$type === 'error')
    return { ok: false, fatal: true, reason: `server error ${asText(frame.error)}: ${asText(frame.message ?? '')}` }
  if (frame.$type !== 'message' || !isObject(frame.payload))
    return { ok: false, reason: `$type: expected "message" with a payload, got ${show(frame.$type)}` }
  const payload = frame.payload
  const type =
    typeof payload.$type === 'string' && payload.$type.startsWith(V2_TYPE)
      ? payload.$type.slice(V2_TYPE.length)
      : undefined
  if (type === 'info') return { ok: true, info: `${asText(payload.name)}: ${asText(payload.message ?? '')}` }
  if (type === undefined)
    return { ok: false, reason: `payload.$type: expected ${V2_TYPE}<kind>, got ${show(payload.$type)}` }
  const { seq, did, time } = payload
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
    return { ok: false, reason: `payload.seq: expected a positive integer, got ${show(seq)}` }
  if (typeof did !== 'string' || !DID.test(did))
    return { ok: false, reason: `payload.did: expected a DID, got ${show(did)}` }
  const timeUs = typeof time === 'string' ? microsOf(time) : undefined
  if (timeUs === undefined || !Number.isSafeInteger(timeUs) || timeUs <= 0)
    return { ok: false, reason: `payload.time: expected RFC 3339 with microseconds, got ${show(time)}` }
  if (type === 'commit') {
    const commit = commitOf(payload, 'payload.')
    return typeof commit === 'string'
      ? { ok: false, reason: commit }
      : { ok: true, event: { timeUs, seq, did, commit } }
  }
  if (type === 'identity') {
    const handle = handleOf(payload.identity)
    return { ok: true, event: { timeUs, seq, did, ...(handle ? { handle } : {}) } }
  }
  // account and sync: they move the cursor, and carry nothing Undertow reads.
  return { ok: true, event: { timeUs, seq, did } }
}

export const atUri = (did: string, collection: string, rkey: string) => `at://${did}/${collection}/${rkey}`
/** Post ids are `jetstream:<AT URI>`: unique across sources, and the record's own name. */
export const postId = (uri: string) => `jetstream:${uri}`

/** The URI of a strong reference ({uri, cid}) when it names a post. */
function postRef(ref: unknown): string | undefined {
  if (!isObject(ref) || typeof ref.uri !== 'string') return undefined
  return /^at:\/\/did:[^/]+\/app\.bsky\.feed\.post\/[^/]+$/.test(ref.uri) ? ref.uri : undefined
}

/** What a quote embeds: `app.bsky.embed.record`, or the record half of `recordWithMedia`. */
function quotedUri(embed: unknown): string | undefined {
  if (!isObject(embed)) return undefined
  if (embed.$type === 'app.bsky.embed.record') return postRef(embed.record)
  if (embed.$type === 'app.bsky.embed.recordWithMedia' && isObject(embed.record)) return postRef(embed.record.record)
  return undefined
}

const ZERO = { likes: 0, reposts: 0, replies: 0, quotes: 0 }
const engagement = (
  id: string,
  target: string,
  at: string,
  delta: Partial<EngagementUpdate['delta']>,
): SourceEvent => ({
  kind: 'engagement',
  update: { id, postId: postId(target), at, delta: { ...ZERO, ...delta } },
})

export type Reading = { events: SourceEvent[] } | { error: string }

/**
 * The events one Jetstream event stands for. A post's time is Jetstream's clock, not the record's
 * `createdAt`, which the author's client sets and can put anywhere; windows and response times
 * need the time the network saw it. `handleOf` names the DIDs whose handles identity events told.
 */
export function readEvent(event: JetstreamEvent, handleOf: (did: string) => string | undefined): Reading {
  const commit = event.commit
  if (!commit) return { events: [] }
  const uri = atUri(event.did, commit.collection, commit.rkey)
  const at = new Date(Math.floor(event.timeUs / 1000)).toISOString()
  const record = commit.record
  if (commit.collection === POST) {
    if (commit.operation === 'delete') return { events: [{ kind: 'delete', postId: postId(uri), at }] }
    if (typeof record?.text !== 'string') return { error: `${uri}: record.text: expected a string` }
    const langs = record.langs
    const parent = isObject(record.reply) ? postRef(record.reply.parent) : undefined
    const quoted = quotedUri(record.embed)
    const handle = handleOf(event.did) ?? event.did
    const post: Post = {
      id: postId(uri),
      source: 'jetstream',
      url: `https://bsky.app/profile/${event.did}/post/${commit.rkey}`,
      author: { id: event.did, handle, displayName: '', followers: 0 },
      text: record.text,
      lang: Array.isArray(langs) && typeof langs[0] === 'string' ? langs[0] : '',
      createdAt: at,
      ...(parent ? { replyTo: postId(parent) } : {}),
      ...(quoted ? { quoteOf: postId(quoted) } : {}),
      engagement: { ...ZERO },
      brands: [],
      terms: [],
    }
    // Images alone, no words: nothing to classify, so no post; as a reply or a quote it still counts.
    const events: SourceEvent[] = post.text.trim() === '' ? [] : [{ kind: 'post', post }]
    // An edit is the same post again: the store keeps the first, so only a create counts up.
    if (commit.operation === 'create') {
      if (parent) events.push(engagement(`${post.id}#reply`, parent, at, { replies: 1 }))
      if (quoted) events.push(engagement(`${post.id}#quote`, quoted, at, { quotes: 1 }))
    }
    return { events }
  }
  if (commit.collection === LIKE || commit.collection === REPOST) {
    // A deleted like or repost names only its own record, not what it liked: nothing to undo.
    if (commit.operation !== 'create') return { events: [] }
    const subject = postRef(record?.subject)
    if (!subject) return { events: [] }
    return {
      events: [engagement(`jetstream:${uri}`, subject, at, commit.collection === LIKE ? { likes: 1 } : { reposts: 1 })],
    }
  }
  return { events: [] }
}
