// Mastodon's messages and statuses, as its documentation defines them, read into Undertow's
// events; and the source against a fake instance: paging a long gap, and a refused token.
import { join } from 'node:path'
import { streamParts } from '../../../pipelines/sources/mastodon/streams.ts'
import type { MastodonCursor } from '../../../pipelines/sources/mastodon/cursor.ts'
import type { Subscription } from 'rxjs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { SourceEvent } from '../../../pipelines/schema.ts'
import { MemoryDeadLetter } from '../../../pipelines/sinks/deadletter.ts'
import { CursorFile } from '../../../pipelines/sources/cursor-file.ts'
import { mastodonSource, newMastodonStats } from '../../../pipelines/sources/mastodon.ts'
import { plainText } from '../../../pipelines/sources/html.ts'
import { eventsOf, readStreamMessage, type Status } from '../../../pipelines/sources/mastodon/parse.ts'
import { FakeMastodon } from '../../support/fake-mastodon.ts'
import { tmpDir } from '../../support/tmp.ts'
import { until } from '../../support/until.ts'

const HOST = 'mastodon.example'
const status: Status = {
  id: '103270115826048975',
  uri: 'https://mastodon.example/users/alice/statuses/103270115826048975',
  url: 'https://mastodon.example/@alice/103270115826048975',
  created_at: '2026-11-23T10:00:00.123Z',
  content:
    '<p>Is the <a href="https://mastodon.example/tags/Lumen" class="mention hashtag" rel="tag">#<span>Lumen</span></a> battery &amp; charger ok? <span class="h-card"><a href="https://mastodon.example/@lumen" class="u-url mention">@<span>lumen</span></a></span></p><p>line<br>two<script>alert(1)</script><img src=x onerror=alert(2)></p>',
  spoiler_text: '',
  language: 'en',
  in_reply_to_id: '103270115826040000',
  replies_count: 2,
  reblogs_count: 3,
  favourites_count: 5,
  account: { id: '14715', username: 'alice', acct: 'alice', display_name: 'Alice', followers_count: 120 },
}

describe('Mastodon messages', () => {
  it('reads a Status into a post with plain text, its counts and author, and a reply on its parent', () => {
    const [post, reply] = eventsOf(status, HOST)
    expect(post).toEqual({
      kind: 'post',
      post: {
        id: 'mastodon:mastodon.example/103270115826048975',
        source: 'mastodon',
        url: 'https://mastodon.example/@alice/103270115826048975',
        author: {
          id: 'mastodon.example/14715',
          handle: 'alice@mastodon.example',
          displayName: 'Alice',
          followers: 120,
        },
        text: 'Is the #Lumen battery & charger ok? @lumen\n\nline\ntwo',
        lang: 'en',
        createdAt: '2026-11-23T10:00:00.123Z',
        replyTo: 'mastodon:mastodon.example/103270115826040000',
        engagement: { likes: 5, reposts: 3, replies: 2, quotes: 0 },
        brands: [],
        terms: [],
      },
    })
    expect(reply).toEqual({
      kind: 'engagement',
      update: {
        id: 'mastodon:mastodon.example/103270115826048975#reply',
        postId: 'mastodon:mastodon.example/103270115826040000',
        at: '2026-11-23T10:00:00.123Z',
        delta: { likes: 0, reposts: 0, replies: 1, quotes: 0 },
      },
    })
  })

  it('keeps a content warning, reads a boost as a repost of the original, and a standing quote as a quote', () => {
    expect(eventsOf({ ...status, spoiler_text: 'battery rant', in_reply_to_id: null }, HOST)[0]).toMatchObject({
      post: { text: expect.stringMatching(/^battery rant\n\nIs the/) },
    })
    const boost = { ...status, id: '9', reblog: status }
    expect(eventsOf(boost, HOST)).toEqual([
      {
        kind: 'engagement',
        update: {
          id: 'mastodon:mastodon.example/9',
          postId: 'mastodon:mastodon.example/103270115826048975',
          at: '2026-11-23T10:00:00.123Z',
          delta: { likes: 0, reposts: 1, replies: 0, quotes: 0 },
        },
      },
    ])
    const quoting = { ...status, in_reply_to_id: null, quote: { state: 'accepted', quoted_status_id: '77' } }
    expect(eventsOf(quoting, HOST)).toMatchObject([
      { post: { quoteOf: 'mastodon:mastodon.example/77' } },
      { update: { postId: 'mastodon:mastodon.example/77', delta: { quotes: 1 } } },
    ])
    expect(eventsOf({ ...quoting, quote: { state: 'revoked', quoted_status_id: '77' } }, HOST)).toHaveLength(1)
  })

  it('reads streaming messages: update and status.update carry a Status as a string, delete an id', () => {
    const at = new Date('2026-11-23T11:00:00Z')
    const update = readStreamMessage(
      JSON.stringify({ stream: ['hashtag', 'lumen'], event: 'update', payload: JSON.stringify(status) }),
      HOST,
      at,
    )
    expect(update).toMatchObject({ ok: true, newestId: status.id, events: [{ kind: 'post' }, { kind: 'engagement' }] })
    expect(
      readStreamMessage(
        JSON.stringify({ stream: ['public'], event: 'status.update', payload: JSON.stringify(status) }),
        HOST,
        at,
      ),
    ).toMatchObject({ ok: true })
    expect(
      readStreamMessage(
        JSON.stringify({ stream: ['public'], event: 'delete', payload: '103270115826048975' }),
        HOST,
        at,
      ),
    ).toEqual({
      ok: true,
      events: [
        { kind: 'delete', postId: 'mastodon:mastodon.example/103270115826048975', at: '2026-11-23T11:00:00.000Z' },
      ],
    })
    expect(readStreamMessage(JSON.stringify({ stream: ['public'], event: 'filters_changed' }), HOST, at)).toEqual({
      ok: true,
      events: [],
    })
  })

  it("says what is wrong with a bad message, and tells the server's own errors apart", () => {
    const at = new Date()
    const reason = (text: string) => {
      const r = readStreamMessage(text, HOST, at)
      return r.ok ? 'ok' : r.reason
    }
    expect(reason('nope')).toMatch(/^not JSON/)
    expect(reason(JSON.stringify({ event: 'update', payload: { already: 'an object' } }))).toMatch(
      /^update payload: expected a Status serialised as a JSON string/,
    )
    expect(reason(JSON.stringify({ event: 'update', payload: JSON.stringify({ ...status, id: 12 }) }))).toMatch(
      /^update payload\.id/,
    )
    expect(
      reason(JSON.stringify({ event: 'update', payload: JSON.stringify({ ...status, account: { id: '1' } }) })),
    ).toMatch(/^update payload\.account/)
    expect(reason(JSON.stringify({ event: 'delete', payload: 'DROP TABLE' }))).toMatch(/^delete payload/)
    expect(readStreamMessage(JSON.stringify({ error: 'Unknown stream type', status: 400 }), HOST, at)).toEqual({
      ok: false,
      serverError: true,
      reason: 'server error 400: Unknown stream type',
    })
  })

  it('turns HTML into text without any markup', () => {
    expect(plainText('<p>a &lt;b&gt; <script>x()</script><style>p{}</style><iframe src="e"></iframe>c</p>')).toBe(
      'a <b> c',
    )
  })

  it('names the stream and its timeline from MASTODON_STREAM', () => {
    expect(streamParts('hashtag:lumen')).toEqual({
      query: { stream: 'hashtag', tag: 'lumen' },
      timeline: '/api/v1/timelines/tag/lumen',
      local: false,
    })
    expect(streamParts('hashtag:local:lumen')).toMatchObject({
      query: { stream: 'hashtag:local', tag: 'lumen' },
      local: true,
    })
    expect(streamParts('public:local')).toEqual({
      query: { stream: 'public:local' },
      timeline: '/api/v1/timelines/public',
      local: true,
    })
    expect(() => streamParts('user')).toThrow('MASTODON_STREAM "user"')
  })
})

describe('Mastodon source against a fake instance', () => {
  const fake = new FakeMastodon('right-token')
  const dir = tmpDir('mastodon')
  let subscription: Subscription | undefined
  beforeAll(() => fake.start())
  afterEach(async () => {
    subscription?.unsubscribe()
    for (let i = 0; i < 500 && fake.subscribers.size > 0; i++) await new Promise((r) => setTimeout(r, 10))
  })
  afterAll(async () => {
    subscription?.unsubscribe()
    await fake.close()
    dir.remove()
  })

  it('fills a long gap page by page, oldest first, without a hole', async () => {
    const cursorFile = new CursorFile<MastodonCursor>(join(dir.path, 'cursor.json'))
    const events: SourceEvent[] = []
    const listen = () =>
      (subscription = mastodonSource({
        url: fake.url,
        token: 'right-token',
        stream: 'hashtag:lumen',
        deadLetter: new MemoryDeadLetter(),
        cursorFile,
        backoff: { initialMs: 20, maxMs: 100 },
      }).subscribe((e) => events.push(e)))
    listen()
    await until('the expected state', () => fake.subscribers.size === 1)
    fake.post('alice', 'first #lumen')
    await until('the expected state', () => events.length === 1)
    subscription!.unsubscribe()
    await until('the expected state', () => fake.subscribers.size === 0)
    const gap = Array.from({ length: 130 }, (_, i) => fake.post('bob', `gap ${i} #lumen`).id)
    fake.post('carol', 'not tagged')
    listen()
    await until('the expected state', () => events.length === 1 + 130)
    expect(events.slice(1).map((e) => (e.kind === 'post' ? e.post.id : ''))).toEqual(
      gap.map((id) => `mastodon:${fake.host}/${id}`),
    )
    // Pages of 40: 40, 40, 40 and the last 10.
    expect(fake.requests.filter((r) => r.startsWith('/api/v1/timelines/tag/lumen?min_id=')).length).toBe(4)
    expect(cursorFile.load((v): v is MastodonCursor => true)).toMatchObject({ newestId: gap.at(-1) })
  })

  it('keeps trying with backoff when the instance refuses the token, and says why', async () => {
    const stats = newMastodonStats()
    subscription = mastodonSource({
      url: fake.url,
      token: 'wrong-token',
      stream: 'public',
      deadLetter: new MemoryDeadLetter(),
      stats,
      backoff: { initialMs: 20, maxMs: 40 },
    }).subscribe()
    await until('the expected state', () => stats.errors >= 3)
    expect(stats.connects).toBe(0)
    expect(stats.lastError).toContain('401')
    subscription.unsubscribe()
  })

  it('waits out a rate limit on the backfill while the stream goes on, and misses nothing', async () => {
    const cursorFile = new CursorFile<MastodonCursor>(join(dir.path, 'throttled.json'))
    const events: SourceEvent[] = []
    const stats = newMastodonStats()
    const listen = () =>
      (subscription = mastodonSource({
        url: fake.url,
        token: 'right-token',
        stream: 'hashtag:lumen',
        deadLetter: new MemoryDeadLetter(),
        cursorFile,
        stats,
        backoff: { initialMs: 20, maxMs: 100 },
      }).subscribe((e) => events.push(e)))
    listen()
    await until('the expected state', () => fake.subscribers.size === 1)
    fake.post('alice', 'before #lumen')
    await until('the expected state', () => events.length === 1)
    subscription!.unsubscribe()
    await until('the expected state', () => fake.subscribers.size === 0)
    const missed = fake.post('bob', 'while away #lumen')
    fake.throttle(2, 300)
    const started = Date.now()
    listen()
    await until('the expected state', () => fake.subscribers.size === 1)
    const live = fake.post('carol', 'live #lumen')
    await until('the expected state', () => events.some((e) => e.kind === 'post' && e.post.id.endsWith(`/${live.id}`)))
    await until('the expected state', () =>
      events.some((e) => e.kind === 'post' && e.post.id.endsWith(`/${missed.id}`)),
    )
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    // One connection for each subscription: the rate limit did not drop the stream.
    expect(stats).toMatchObject({ rateLimited: 2, connects: 2 })
    subscription!.unsubscribe()
  })

  it('starts again when the server refuses the subscription in the stream, and survives hostile statuses', async () => {
    const stats = newMastodonStats()
    const deadLetter = new MemoryDeadLetter()
    const events: SourceEvent[] = []
    subscription = mastodonSource({
      url: fake.url,
      token: 'right-token',
      stream: 'public',
      deadLetter,
      stats,
      backoff: { initialMs: 20, maxMs: 100 },
    }).subscribe((e) => events.push(e))
    await until('the expected state', () => fake.subscribers.size === 1)
    fake.sendRaw(JSON.stringify({ error: 'Unknown stream type', status: 400 }))
    await until('the expected state', () => stats.connects === 2)
    await until('the expected state', () => fake.subscribers.size === 1)
    // Ten thousand nested spans, and a boost nested eight thousand deep: read or refused, never thrown.
    const deepHtml = `${'<span>'.repeat(10_000)}Lumen${'</span>'.repeat(10_000)}`
    fake.sendRaw(
      JSON.stringify({
        stream: ['public'],
        event: 'update',
        payload: JSON.stringify({ ...status, id: '5', content: deepHtml, in_reply_to_id: null }),
      }),
    )
    let nested = JSON.stringify({ ...status, id: '6' })
    for (let i = 0; i < 8_000; i++)
      nested = `{"id":"7","uri":"u","created_at":"2026-11-23T10:00:00Z","content":"","account":${JSON.stringify(status.account)},"reblog":${nested}}`
    fake.sendRaw(JSON.stringify({ stream: ['public'], event: 'update', payload: nested }))
    const after = fake.post('dave', 'still here #lumen')
    await until('the expected state', () => events.some((e) => e.kind === 'post' && e.post.id.endsWith(`/${after.id}`)))
    expect(events.some((e) => e.kind === 'post' && e.post.id.endsWith('/5'))).toBe(true)
    expect(deadLetter.records.map((r) => r.reason)).toEqual([expect.stringContaining('a boost of a boost')])
    subscription!.unsubscribe()
  })

  it('does not count a reply twice when its parent was read from the timeline after it', async () => {
    const cursorFile = new CursorFile<MastodonCursor>(join(dir.path, 'replies.json'))
    const events: SourceEvent[] = []
    const listen = () =>
      (subscription = mastodonSource({
        url: fake.url,
        token: 'right-token',
        stream: 'hashtag:lumen',
        deadLetter: new MemoryDeadLetter(),
        cursorFile,
        backoff: { initialMs: 20, maxMs: 100 },
      }).subscribe((e) => events.push(e)))
    listen()
    await until('the expected state', () => fake.subscribers.size === 1)
    fake.post('alice', 'start #lumen')
    await until('the expected state', () => events.length === 1)
    subscription!.unsubscribe()
    await until('the expected state', () => fake.subscribers.size === 0)
    const parent = fake.post('bob', 'parent #lumen')
    fake.post('carol', 'reply #lumen', { replyTo: parent.id })
    listen()
    await until('the expected state', () => events.filter((e) => e.kind === 'post').length === 3)
    await new Promise((r) => setTimeout(r, 100))
    // The parent came with replies_count 1 already: the reply adds no second one.
    expect(events.find((e) => e.kind === 'post' && e.post.id.endsWith(`/${parent.id}`))).toMatchObject({
      post: { engagement: { replies: 1 } },
    })
    expect(events.filter((e) => e.kind === 'engagement' && e.update.postId.endsWith(`/${parent.id}`))).toEqual([])
    subscription!.unsubscribe()
  })
})
