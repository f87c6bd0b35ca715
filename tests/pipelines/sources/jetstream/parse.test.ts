// Jetstream frames, as the service documents them, read into Undertow's events.
import { describe, expect, it } from 'vitest'
import { parseV1, parseV2, readEvent } from '../../../../pipelines/sources/jetstream/parse.ts'
import { render } from '../../../support/fake-jetstream.ts'

const DID = 'did:plc:eygmaihciaxprqvxpfvl6flk'
const PARENT = 'at://did:plc:wa7b35aakoll7hugkrjtf3xf/app.bsky.feed.post/3l3pte3p2e325'
const QUOTED = 'at://did:plc:z72i7hdynmk24r6zlsdc6nxd/app.bsky.feed.post/3l3abcdefgh2k'
const ref = (uri: string) => ({ uri, cid: 'bafyreidc6sydkkbchcyg62v77wbhzvb2mvytlmsychqgwf2xojjtirmzj4' })
const postCommit = {
  rev: '3l3qo2vutsw2b',
  operation: 'create',
  collection: 'app.bsky.feed.post',
  rkey: '3l3qo2vuowo2b',
  record: {
    $type: 'app.bsky.feed.post',
    text: '@lumen.bsky.social battery? 🔋',
    createdAt: '1999-01-01T00:00:00.000Z',
    langs: ['en', 'pt'],
    reply: { root: ref(PARENT), parent: ref(PARENT) },
    embed: { $type: 'app.bsky.embed.record', record: ref(QUOTED) },
  },
  cid: 'bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi',
}
const v1 = (fields: object) => JSON.stringify({ did: DID, time_us: 1725911162329308, kind: 'commit', ...fields })

describe('Jetstream frames', () => {
  it('reads a v1 post create into the post, a reply to its parent and a quote of the quoted post', () => {
    const frame = parseV1(v1({ commit: postCommit }))
    if (!frame.ok || !frame.event) throw new Error(JSON.stringify(frame))
    const reading = readEvent(frame.event, (did) => (did === DID ? 'alice.bsky.social' : undefined))
    if (!('events' in reading)) throw new Error(reading.error)
    const id = `jetstream:at://${DID}/app.bsky.feed.post/3l3qo2vuowo2b`
    expect(reading.events).toEqual([
      {
        kind: 'post',
        post: {
          id,
          source: 'jetstream',
          url: `https://bsky.app/profile/${DID}/post/3l3qo2vuowo2b`,
          author: { id: DID, handle: 'alice.bsky.social', displayName: '', followers: 0 },
          text: '@lumen.bsky.social battery? 🔋',
          lang: 'en',
          // Jetstream's clock, not the record's createdAt, which the author's client sets.
          createdAt: '2024-09-09T19:46:02.329Z',
          replyTo: `jetstream:${PARENT}`,
          quoteOf: `jetstream:${QUOTED}`,
          engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
          brands: [],
          terms: [],
        },
      },
      {
        kind: 'engagement',
        update: {
          id: `${id}#reply`,
          postId: `jetstream:${PARENT}`,
          at: '2024-09-09T19:46:02.329Z',
          delta: { likes: 0, reposts: 0, replies: 1, quotes: 0 },
        },
      },
      {
        kind: 'engagement',
        update: {
          id: `${id}#quote`,
          postId: `jetstream:${QUOTED}`,
          at: '2024-09-09T19:46:02.329Z',
          delta: { likes: 0, reposts: 0, replies: 0, quotes: 1 },
        },
      },
    ])
  })

  it('reads the same event identically from v2 framing, with its sequence number', () => {
    const logged = { seq: 42, timeUs: 1725911162329308, did: DID, kind: 'commit' as const, commit: postCommit as never }
    const a = parseV1(render(logged, 1))
    const b = parseV2(render(logged, 2))
    if (!a.ok || !a.event || !b.ok || !b.event) throw new Error('unread')
    expect(b.event).toEqual({ ...a.event, seq: 42 })
  })

  it('reads likes and reposts of posts as engagement, deletes of posts as deletions, and skips the rest', () => {
    const like = {
      rev: 'r',
      operation: 'create',
      collection: 'app.bsky.feed.like',
      rkey: '3labc',
      record: { $type: 'app.bsky.feed.like', createdAt: 'x', subject: ref(PARENT) },
      cid: 'c',
    }
    const read = (commit: object) => {
      const f = parseV1(v1({ commit }))
      if (!f.ok || !f.event) throw new Error(JSON.stringify(f))
      return readEvent(f.event, () => undefined)
    }
    expect(read(like)).toEqual({
      events: [
        {
          kind: 'engagement',
          update: {
            id: `jetstream:at://${DID}/app.bsky.feed.like/3labc`,
            postId: `jetstream:${PARENT}`,
            at: '2024-09-09T19:46:02.329Z',
            delta: { likes: 1, reposts: 0, replies: 0, quotes: 0 },
          },
        },
      ],
    })
    expect(read({ ...like, collection: 'app.bsky.feed.repost' })).toMatchObject({
      events: [{ update: { delta: { reposts: 1, likes: 0 } } }],
    })
    expect(read({ rev: 'r', operation: 'delete', collection: 'app.bsky.feed.post', rkey: '3lxyz' })).toEqual({
      events: [
        { kind: 'delete', postId: `jetstream:at://${DID}/app.bsky.feed.post/3lxyz`, at: '2024-09-09T19:46:02.329Z' },
      ],
    })
    // A like of a feed generator, and a deleted like (which names no subject): nothing to count.
    expect(
      read({ ...like, record: { ...like.record, subject: ref(`at://${DID}/app.bsky.feed.generator/x`) } }),
    ).toEqual({ events: [] })
    expect(read({ rev: 'r', operation: 'delete', collection: 'app.bsky.feed.like', rkey: '3labc' })).toEqual({
      events: [],
    })
    expect(read({ ...postCommit, operation: 'update' })).toMatchObject({ events: [{ kind: 'post' }] })
    expect(read({ ...postCommit, record: { $type: 'app.bsky.feed.post', createdAt: 'x' } })).toEqual({
      error: expect.stringContaining('record.text'),
    })
  })

  it('takes handles from identity events, and moves the cursor on account events', () => {
    expect(
      parseV1(
        JSON.stringify({
          did: DID,
          time_us: 5,
          kind: 'identity',
          identity: { did: DID, handle: 'yo.bsky.social', seq: 1, time: 't' },
        }),
      ),
    ).toEqual({ ok: true, event: { timeUs: 5, did: DID, handle: 'yo.bsky.social' } })
    expect(
      parseV1(
        JSON.stringify({
          did: DID,
          time_us: 6,
          kind: 'account',
          account: { active: true, did: DID, seq: 1, time: 't' },
        }),
      ),
    ).toEqual({ ok: true, event: { timeUs: 6, did: DID } })
  })

  it('says what is wrong with a malformed frame, and marks v2 error frames as the end of the stream', () => {
    const reason = (f: ReturnType<typeof parseV1>) => (f.ok ? 'ok' : f.reason)
    expect(reason(parseV1('{"did":'))).toMatch(/^not JSON/)
    expect(reason(parseV1('[1,2]'))).toBe('not a JSON object')
    expect(reason(parseV1(v1({ did: 'alice' })))).toMatch(/^did: expected a DID/)
    expect(reason(parseV1(v1({ time_us: '1725911162329308' })))).toMatch(/^time_us/)
    expect(reason(parseV1(v1({ kind: 'gossip' })))).toMatch(/^kind: expected commit, identity or account/)
    expect(reason(parseV1(v1({ commit: { ...postCommit, operation: 'upsert' } })))).toMatch(/^commit\.operation/)
    expect(reason(parseV1(v1({ commit: { ...postCommit, rkey: '../etc' } })))).toMatch(/^commit\.rkey/)
    expect(reason(parseV1(v1({ commit: { ...postCommit, record: 'text' } })))).toMatch(/^commit\.record/)
    expect(
      reason(
        parseV2(
          JSON.stringify({
            $type: 'message',
            payload: { $type: 'network.bsky.jetstream.subscribeEvents#commit', seq: 1, did: DID, time: 'yesterday' },
          }),
        ),
      ),
    ).toMatch(/^payload\.time/)
    expect(
      parseV2(JSON.stringify({ $type: 'error', error: 'ConsumerTooSlow', message: 'reconnect with cursor=42' })),
    ).toEqual({ ok: false, fatal: true, reason: 'server error ConsumerTooSlow: reconnect with cursor=42' })
    expect(
      parseV2(
        JSON.stringify({
          $type: 'message',
          payload: { $type: 'network.bsky.jetstream.subscribeEvents#info', name: 'OutdatedCursor', message: 'resumed' },
        }),
      ),
    ).toEqual({ ok: true, info: 'OutdatedCursor: resumed' })
  })

  it('reads hostile frames without throwing: deep nesting, objects posing as strings, oversized handles', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    expect(parseV1(`{"did": ${deep}, "time_us": 1, "kind": "commit"}`)).toMatchObject({
      ok: false,
      reason: 'did: expected a DID, got an array',
    })
    expect(parseV2(JSON.stringify({ $type: 'error', error: { toString: 1 }, message: { toString: 1 } }))).toEqual({
      ok: false,
      fatal: true,
      reason: 'server error an object: an object',
    })
    expect(
      parseV2(
        JSON.stringify({
          $type: 'message',
          payload: { $type: 'network.bsky.jetstream.subscribeEvents#info', name: { toString: 1 } },
        }),
      ),
    ).toEqual({ ok: true, info: 'an object: ' })
    const deepText = parseV1(
      v1({ commit: { ...postCommit, record: { ...postCommit.record, text: '@@DEEP@@' } } }).replace('"@@DEEP@@"', deep),
    )
    if (!deepText.ok || !deepText.event) throw new Error('unread')
    expect(readEvent(deepText.event, () => undefined)).toEqual({
      error: expect.stringContaining('record.text: expected a string'),
    })
    const identity = parseV1(
      JSON.stringify({ did: DID, time_us: 5, kind: 'identity', identity: { handle: 'x'.repeat(300) } }),
    )
    expect(identity).toEqual({ ok: true, event: { timeUs: 5, did: DID } })
  })
})
