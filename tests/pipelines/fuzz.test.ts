// Property-based tests (fast-check) of every parser that reads what strangers send: Jetstream v1
// and v2 frames, Mastodon streaming messages, Hacker News items, the webhook's JSON and NDJSON
// bodies, replay records and the configuration. For any input, random text, random JSON, or a
// good frame with one field replaced by anything: no parser throws; each either yields what it
// promises (posts that pass the Post schema, as every source's must) or says why not, in words.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../server/config.ts'
import type { Post, SourceEvent } from '../../pipelines/schema.ts'
import { checkItem, eventsOf as hackerNewsEvents } from '../../pipelines/sources/hackernews/parse.ts'
import { parseV1, parseV2, readEvent } from '../../pipelines/sources/jetstream/parse.ts'
import { readStreamMessage } from '../../pipelines/sources/mastodon/parse.ts'
import { postFrom, REPLAY_FIELDS } from '../../pipelines/sources/replay.ts'
import { readIngestBody } from '../../pipelines/sources/webhook.ts'
import { normaliseOne } from '../../pipelines/transforms/normalise.ts'

const RUNS = { numRuns: Number(process.env.FUZZ_RUNS ?? 400) }
const DID = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz'

/** Any JSON value, including the awkward ones (deep nesting, huge numbers, odd strings). */
const json = fc.json({ maxDepth: 4 })
/** A good object with one of its keys (or a key of its nested objects) replaced by any value, or removed. */
function mutated(good: Record<string, unknown>): fc.Arbitrary<string> {
  const paths: string[][] = []
  const walk = (node: Record<string, unknown>, path: string[]) => {
    for (const [k, v] of Object.entries(node)) {
      paths.push([...path, k])
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, [...path, k])
    }
  }
  walk(good, [])
  return fc
    .tuple(fc.constantFrom(...paths), fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }))
    .map(([path, value]) => {
      const copy = structuredClone(good)
      let node = copy as Record<string, unknown>
      for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>
      if (value === undefined) delete node[path.at(-1)!]
      else node[path.at(-1)!] = value
      return JSON.stringify(copy)
    })
}
const anyText = (good: Record<string, unknown>) =>
  fc.oneof(fc.string({ maxLength: 300 }), json, mutated(good), mutated(good))

/** Every post a parser yields must be one the Post schema takes, unchanged. */
function postsAreValid(events: readonly SourceEvent[]) {
  for (const e of events) {
    if (e.kind !== 'post') continue
    const again = normaliseOne(e.post)
    expect(again.ok, again.ok ? '' : again.reason).toBe(true)
  }
}
const says = (reason: unknown) =>
  expect(typeof reason === 'string' && reason.length > 3, `reason: ${String(reason)}`).toBe(true)

describe('what the fuzzing found', () => {
  it('reads a post with no words (images alone) as no post, keeping the reply it is; refuses an item by nobody', () => {
    const v1 = JSON.stringify({
      did: DID,
      time_us: 1725911162329308,
      kind: 'commit',
      commit: {
        operation: 'create',
        collection: 'app.bsky.feed.post',
        rkey: '3l3qo2vutsw2b',
        record: {
          text: ' ',
          createdAt: 'x',
          reply: {
            root: { uri: `at://${DID}/app.bsky.feed.post/1`, cid: 'c' },
            parent: { uri: `at://${DID}/app.bsky.feed.post/1`, cid: 'c' },
          },
        },
      },
    })
    const frame = parseV1(v1)
    expect(frame.ok && 'event' in frame && frame.event && readEvent(frame.event, () => undefined)).toMatchObject({
      events: [{ kind: 'engagement', update: { delta: { replies: 1 } } }],
    })
    const status = {
      id: '113',
      uri: 'u',
      created_at: '2024-09-09T19:46:02.000Z',
      content: '<p></p>',
      replies_count: 0,
      reblogs_count: 0,
      favourites_count: 0,
      account: { id: '1', acct: 'a', username: 'a', followers_count: 0 },
    }
    expect(
      readStreamMessage(JSON.stringify({ event: 'update', payload: JSON.stringify(status) }), 'm.example', new Date()),
    ).toEqual({ ok: true, events: [], newestId: '113' })
    expect(checkItem({ id: 41, type: 'comment', by: '', time: 1725911162, text: 'Lumen' })).toBe(
      'item 41.by: expected a user name, got an empty one',
    )
  })
})

describe('parsers never throw on what strangers send, and say why they refuse it', () => {
  it('Jetstream v1 frames', () => {
    const good = {
      did: DID,
      time_us: 1725911162329308,
      kind: 'commit',
      commit: {
        rev: 'x',
        operation: 'create',
        collection: 'app.bsky.feed.post',
        rkey: '3l3qo2vutsw2b',
        record: {
          $type: 'app.bsky.feed.post',
          text: 'Lumen is great',
          createdAt: '2024-09-09T19:46:02.102Z',
          langs: ['en'],
        },
        cid: 'c',
      },
    }
    // The good frame itself is read as one post: the property below is not about refusals only.
    const read = parseV1(JSON.stringify(good))
    expect(read.ok && 'event' in read && read.event && readEvent(read.event, () => 'a.bsky.social')).toMatchObject({
      events: [{ kind: 'post' }],
    })
    fc.assert(
      fc.property(anyText(good), (text) => {
        const frame = parseV1(text)
        if (!frame.ok) {
          says(frame.reason)
          return
        }
        if ('event' in frame && frame.event) {
          const reading = readEvent(frame.event, () => 'someone.bsky.social')
          if ('error' in reading) says(reading.error)
          else postsAreValid(reading.events)
        }
      }),
      RUNS,
    )
  })

  it('Jetstream v2 frames', () => {
    const good = {
      $type: 'message',
      payload: {
        $type: 'network.bsky.jetstream.subscribeEvents#commit',
        seq: 7,
        did: DID,
        time: '2024-09-09T19:46:02.329308Z',
        operation: 'create',
        collection: 'app.bsky.feed.post',
        rkey: '3l3qo2vutsw2b',
        record: { text: 'Lumen is great', createdAt: '2024-09-09T19:46:02.102Z' },
      },
    }
    const read = parseV2(JSON.stringify(good))
    expect(read.ok && 'event' in read && read.event && readEvent(read.event, () => undefined)).toMatchObject({
      events: [{ kind: 'post' }],
    })
    fc.assert(
      fc.property(anyText(good), (text) => {
        const frame = parseV2(text)
        if (!frame.ok) {
          says(frame.reason)
          return
        }
        if ('event' in frame && frame.event) {
          const reading = readEvent(frame.event, () => undefined)
          if ('error' in reading) says(reading.error)
          else postsAreValid(reading.events)
        }
      }),
      RUNS,
    )
  })

  it('Mastodon streaming messages', () => {
    const status = {
      id: '113',
      uri: 'https://m.example/users/a/statuses/113',
      url: 'https://m.example/@a/113',
      created_at: '2024-09-09T19:46:02.000Z',
      content: '<p>Lumen is <b>great</b></p>',
      language: 'en',
      replies_count: 0,
      reblogs_count: 0,
      favourites_count: 1,
      account: { id: '1', acct: 'a', username: 'a', display_name: 'A', followers_count: 3 },
      in_reply_to_id: null,
      reblog: null,
      spoiler_text: '',
    }
    const good = { event: 'update', payload: status }
    const asSent = (text: string) => {
      // The payload travels as a JSON string inside the message: keep that framing for objects.
      try {
        const m = JSON.parse(text)
        if (m && typeof m === 'object' && m.payload && typeof m.payload === 'object')
          m.payload = JSON.stringify(m.payload)
        return JSON.stringify(m)
      } catch {
        return text
      }
    }
    expect(readStreamMessage(asSent(JSON.stringify(good)), 'm.example', new Date())).toMatchObject({
      ok: true,
      events: [{ kind: 'post' }],
    })
    fc.assert(
      fc.property(anyText(good).map(asSent), (text) => {
        const reading = readStreamMessage(text, 'm.example', new Date('2024-09-09T19:47:00Z'))
        if (!reading.ok) {
          says(reading.reason)
          return
        }
        postsAreValid(reading.events)
      }),
      RUNS,
    )
  })

  it('Hacker News items', () => {
    const good = {
      id: 41,
      type: 'comment',
      by: 'pg',
      time: 1725911162,
      text: 'Lumen <i>is</i> fine',
      parent: 40,
      kids: [42],
    }
    const item = checkItem(good)
    expect(item && typeof item === 'object' && hackerNewsEvents(item)).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'post' })]),
    )
    fc.assert(
      fc.property(anyText(good), (text) => {
        let value: unknown
        try {
          value = JSON.parse(text)
        } catch {
          value = text
        }
        const item = checkItem(value)
        if (typeof item === 'string') {
          says(item)
          return
        }
        if (item) postsAreValid(hackerNewsEvents(item))
      }),
      RUNS,
    )
  })

  it('webhook bodies, JSON and NDJSON: every post accepted is valid, every other one has its line and why', () => {
    const good: Post = {
      id: 'webhook:1',
      source: 'webhook',
      url: '',
      author: { id: 'u', handle: 'u', displayName: 'U', followers: 1 },
      text: 'Lumen?',
      lang: 'en',
      createdAt: '2026-11-23T10:00:00.000Z',
      engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
      brands: [],
      terms: [],
    }
    const lines = fc.array(anyText(good as unknown as Record<string, unknown>), { maxLength: 8 })
    fc.assert(
      fc.property(lines, fc.boolean(), (items, asArray) => {
        const body = asArray
          ? `[${items.map((t) => (isJson(t) ? t : JSON.stringify(t))).join(',')}]`
          : items.map((t) => t.replace(/\n/g, ' ')).join('\n')
        const read = readIngestBody(body, asArray ? 'json' : 'ndjson')
        if (!read.ok) {
          says(read.reason)
          return
        }
        postsAreValid(read.posts.map((post) => ({ kind: 'post', post })))
        for (const r of read.rejected) {
          says(r.reason)
          expect(r.line ?? r.item).toBeGreaterThan(0)
        }
      }),
      RUNS,
    )
  })

  it('refuses a replay record whose id or count is no text or number, saying so (found by the fuzzing)', () => {
    expect(postFrom({ id: { toString: false }, text: 'Lumen' }, {}, 3)).toEqual({
      line: 3,
      ok: false,
      reason: 'id: expected text or a number, got an object',
    })
    expect(postFrom({ tweet_id: [1], text: 'Lumen' }, { id: 'tweet_id' }, 4)).toEqual({
      line: 4,
      ok: false,
      reason: 'tweet_id: expected text or a number, got an array',
    })
    expect(postFrom({ id: 'a', text: 'Lumen', 'engagement.quotes': { toString: false } }, {}, 5)).toEqual({
      line: 5,
      ok: false,
      reason: 'engagement.quotes: expected a count, got an object',
    })
  })

  it('replay records, however their fields are filled', () => {
    const record = fc.dictionary(
      fc.constantFrom(...REPLAY_FIELDS, 'extra', 'author', 'engagement'),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 12 },
    )
    fc.assert(
      fc.property(record, fc.nat(), (r, line) => {
        const result = postFrom(r, {}, line + 1)
        if (!result.ok) {
          says(result.reason)
          return
        }
        postsAreValid([{ kind: 'post', post: result.post }])
      }),
      RUNS,
    )
  })

  it('the configuration: a bad value stops start-up with a message that names it, never a crash', () => {
    const KEYS = [
      'PORT',
      'HOST',
      'SOURCES',
      'SIM_SPEED',
      'SIM_SEED',
      'BRAND',
      'COMPETITORS',
      'RETENTION_DAYS',
      'REPLY_TARGET_MINUTES',
      'REPLY_ALL_MENTIONS',
      'ROUTES',
      'TEAM_WEBHOOKS',
      'INGEST_TOKEN',
      'CLICKHOUSE_URL',
      'SIM_TYPO',
    ]
    const env = fc.dictionary(
      fc.constantFrom(...KEYS),
      fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.integer().map(String),
        fc.constantFrom('', 'true', 'false', '-1', '1e9', 'NaN'),
      ),
      { maxKeys: 6 },
    )
    fc.assert(
      fc.property(env, (e) => {
        try {
          loadConfig(e)
        } catch (error) {
          expect(error).toBeInstanceOf(Error)
          const message = (error as Error).message
          // It names at least one of the keys it was given, or the one it is missing.
          expect(KEYS.some((k) => message.includes(k)) || /[A-Z_]{3,}/.test(message), message).toBe(true)
          expect(error).not.toBeInstanceOf(TypeError)
        }
      }),
      RUNS,
    )
  })
})

function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}
