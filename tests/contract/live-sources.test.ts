// The contract every live connector keeps, run against a local fake of its service that speaks
// the service's public wire format: events are schema-valid; unsubscribing leaves no socket, timer
// or listener behind; a connection the server drops is made again; a restart resumes from the
// saved cursor with no gap and no duplicate; a malformed message is dead-lettered with its reason
// and the stream goes on. Each connector adds a harness to LIVE_SOURCES.
import { readFileSync, writeFileSync } from 'node:fs'
import type { MastodonCursor } from '../../pipelines/sources/mastodon/cursor.ts'
import { join } from 'node:path'
import type { Observable, Subscription } from 'rxjs'
import { Compile } from 'typebox/compile'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EngagementUpdate, Post, PostDeletion, type SourceEvent } from '../../pipelines/schema.ts'
import { CursorFile } from '../../pipelines/sources/cursor-file.ts'
import { type JetstreamCursor, jetstreamSource } from '../../pipelines/sources/jetstream.ts'
import { type HackerNewsCursor, hackerNewsSource } from '../../pipelines/sources/hackernews.ts'
import { mastodonSource } from '../../pipelines/sources/mastodon.ts'
import { MemoryDeadLetter } from '../../pipelines/sinks/deadletter.ts'
import { FakeJetstream } from '../support/fake-jetstream.ts'
import { FakeHackerNews } from '../support/fake-hackernews.ts'
import { FakeMastodon } from '../support/fake-mastodon.ts'
import { tmpDir } from '../support/tmp.ts'
import { until } from '../support/until.ts'

interface Harness {
  name: string
  start(): Promise<void>
  close(): Promise<void>
  /** A new subscription to the source, resuming from its saved place (`cursor`: that file). */
  source(cursorPath: string, deadLetter: MemoryDeadLetter): Observable<SourceEvent>
  /** The service publishes `n` posts, and engagement on some; returns how many posts that makes (replies and quotes are posts too). */
  publish(n: number): number
  /** Their authors delete the last `n` posts published. */
  deleteLast(n: number): void
  /** Where engagement comes apart from posts (votes polled later): some on posts already read. */
  react?(): void
  /** The service hangs up on every client. */
  drop(): void
  /** The service sends something that is not a valid message. */
  malformed(): void
  /** Clients connected to the service now. */
  connections(): number
}

function jetstream(version: 1 | 2): Harness {
  const fake = new FakeJetstream()
  const dids = ['did:plc:alice', 'did:plc:bob', 'did:plc:carol']
  const published: string[] = []
  let n = 0
  return {
    name: `jetstream v${version}`,
    start: async () => void (await fake.start()),
    close: () => fake.close(),
    source: (cursorPath, deadLetter) =>
      jetstreamSource({
        url: fake.url(version),
        version,
        deadLetter,
        cursorFile: new CursorFile<JetstreamCursor>(cursorPath),
        backoff: { initialMs: 20, maxMs: 200 },
      }),
    publish(count) {
      let made = 0
      for (let i = 0; i < count; i++) {
        const did = dids[n % dids.length]!
        if (n % 7 === 0) fake.identity(did, `user${n}.bsky.social`)
        const uri = fake.post(did, `post ${n} about Lumen`)
        if (n % 2 === 0) fake.like(dids[(n + 1) % dids.length]!, uri)
        if (n % 3 === 0) fake.like(dids[(n + 2) % dids.length]!, uri, 'app.bsky.feed.repost')
        if (n % 4 === 0) fake.post(dids[(n + 1) % dids.length]!, `reply ${n}`, { reply: uri })
        if (n % 5 === 0) fake.post(dids[(n + 2) % dids.length]!, `quote ${n}`, { quote: uri })
        if (n % 6 === 0) fake.account(did, true)
        published.push(uri)
        made += 1 + (n % 4 === 0 ? 1 : 0) + (n % 5 === 0 ? 1 : 0)
        n++
      }
      return made
    },
    deleteLast: (count) => published.splice(-count).forEach((uri) => fake.deletePost(uri)),
    drop: () => fake.dropAll(),
    malformed: () => {
      fake.sendRaw('{"did": "did:plc:alice", "time_us": "yesterday", "kind": "commit"')
      fake.sendRaw(
        version === 1
          ? JSON.stringify({ did: 'did:plc:alice', time_us: 1, kind: 'commit', commit: { operation: 'explode' } })
          : JSON.stringify({ $type: 'message', payload: { $type: 'nope' } }),
      )
    },
    connections: () => fake.subscribers.size,
  }
}

function mastodon(stream: string): Harness {
  const fake = new FakeMastodon('a-mastodon-token')
  const users = ['alice', 'bob', 'carol']
  const published: string[] = []
  let n = 0
  return {
    name: `mastodon ${stream}`,
    start: async () => void (await fake.start()),
    close: () => fake.close(),
    source: (cursorPath, deadLetter) =>
      mastodonSource({
        url: fake.url,
        token: 'a-mastodon-token',
        stream,
        deadLetter,
        cursorFile: new CursorFile<MastodonCursor>(cursorPath),
        backoff: { initialMs: 20, maxMs: 200 },
      }),
    publish(count) {
      let made = 0
      for (let i = 0; i < count; i++) {
        const status = fake.post(
          users[n % users.length]!,
          `post ${n} about <a href="${fake.url}/tags/lumen" class="mention hashtag" rel="tag">#<span>lumen</span></a> &amp; its <b>battery</b>`,
        )
        if (n % 4 === 0) fake.post(users[(n + 1) % users.length]!, `reply ${n} #lumen`, { replyTo: status.id })
        if (n % 5 === 0) fake.post(users[(n + 2) % users.length]!, `quote ${n} #lumen`, { quoteOf: status.id })
        if (n % 6 === 0) fake.edit(status.id, `post ${n} about #lumen, edited`)
        published.push(status.id)
        made += 1 + (n % 4 === 0 ? 1 : 0) + (n % 5 === 0 ? 1 : 0)
        n++
      }
      return made
    },
    deleteLast: (count) => published.splice(-count).forEach((id) => fake.delete(id)),
    drop: () => fake.dropAll(),
    malformed: () => {
      fake.sendRaw('{"stream": ["public"], "event": "update", "payload": "{not json"')
      fake.sendRaw(
        JSON.stringify({
          stream: ['public'],
          event: 'update',
          payload: JSON.stringify({ id: 'abc', content: '<p>x</p>' }),
        }),
      )
    },
    connections: () => fake.subscribers.size,
  }
}

function hackernews(): Harness {
  const fake = new FakeHackerNews()
  const users = ['pg', 'dang', 'tptacek']
  const published: number[] = []
  let n = 0
  return {
    name: 'hackernews',
    start: async () => void (await fake.start()),
    close: () => fake.close(),
    source: (cursorPath, deadLetter) =>
      hackerNewsSource({
        url: fake.url,
        deadLetter,
        cursorFile: new CursorFile<HackerNewsCursor>(cursorPath),
        pollMs: 20,
        backoff: { initialMs: 20, maxMs: 200 },
      }),
    publish(count) {
      let made = 0
      for (let i = 0; i < count; i++) {
        const story =
          n % 3 === 0
            ? fake.story(users[n % 3]!, `Ask HN: is Lumen ${n} any good?`, {
                text: '<p>Thinking of <i>switching</i> &amp; buying</p>',
              })
            : fake.story(users[n % 3]!, `Lumen ${n} launches`, { url: `https://example.com/${n}` })
        if (n % 2 === 0) fake.comment(users[(n + 1) % 3]!, story, `Battery is <b>fine</b> here ${n}`)
        if (n % 4 === 0) fake.vote(story, 3)
        published.push(story)
        made += 1 + (n % 2 === 0 ? 1 : 0)
        n++
      }
      return made
    },
    deleteLast: (count) => published.splice(-count).forEach((id) => fake.delete(id)),
    react: () => published.slice(-3).forEach((id) => fake.vote(id, 2)),
    drop: () => fake.fail(3),
    malformed: () => {
      fake.broken.set(fake.pending(), '{"id": "one", "type": "story"')
      fake.broken.set(fake.pending(), JSON.stringify({ id: 1, type: 'blogpost' }))
    },
    connections: () => (Date.now() - fake.lastRequestAt < 150 ? 1 : 0),
  }
}

const LIVE_SOURCES: Harness[] = [
  jetstream(1),
  jetstream(2),
  mastodon('hashtag:lumen'),
  mastodon('public'),
  hackernews(),
]

const isPost = Compile(Post)
const isUpdate = Compile(EngagementUpdate)
const isDeletion = Compile(PostDeletion)
const keyOf = (e: SourceEvent) =>
  e.kind === 'post' ? e.post.id : e.kind === 'engagement' ? e.update.id : `delete:${e.postId}`

const posts = (events: SourceEvent[]) => events.filter((e) => e.kind === 'post').length
/** Handles that keep the event loop alive (sockets, timers): what a leak leaves behind. */
const resources = () =>
  process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap' || r === 'TCPWRAP').length

describe.each(LIVE_SOURCES)('live source contract: $name', (harness) => {
  const dir = tmpDir('live-sources')
  let subscription: Subscription | undefined
  let cursorN = 0
  const cursorPath = () => join(dir.path, `cursor-${cursorN}.json`)
  const listen = (deadLetter = new MemoryDeadLetter()) => {
    const events: SourceEvent[] = []
    subscription = harness.source(cursorPath(), deadLetter).subscribe((e) => events.push(e))
    return { events, deadLetter }
  }

  beforeAll(() => harness.start())
  afterEach(async () => {
    subscription?.unsubscribe()
    cursorN++
    // The next test counts connections from zero.
    await until('the service to see the last client go', () => harness.connections() === 0)
  })
  afterAll(async () => {
    await harness.close()
    dir.remove()
  })

  it('emits only schema-valid posts, engagement updates and deletions, each once, carrying its own name', async () => {
    const { events, deadLetter } = listen()
    await until('a connection', () => harness.connections() === 1)
    const made = harness.publish(30)
    await until('30 posts and their replies and quotes', () => posts(events) >= made)
    harness.react?.()
    await until('engagement', () => events.some((e) => e.kind === 'engagement'))
    harness.deleteLast(3)
    await until('3 deletions', () => events.filter((e) => e.kind === 'delete').length >= 3)
    const ids = new Set<string>()
    const keys = new Set<string>()
    for (const e of events) {
      expect(keys.has(keyOf(e)), keyOf(e)).toBe(false)
      keys.add(keyOf(e))
      if (e.kind === 'post') {
        expect(isPost.Check(e.post), JSON.stringify([...isPost.Errors(e.post)].slice(0, 2))).toBe(true)
        expect(e.post.source).toBe(harness.name.split(' ')[0])
        expect(e.post.id.startsWith(`${harness.name.split(' ')[0]}:`)).toBe(true)
        ids.add(e.post.id)
      } else if (e.kind === 'engagement') {
        expect(isUpdate.Check(e.update), JSON.stringify(e.update)).toBe(true)
        expect(ids.has(e.update.postId), e.update.postId).toBe(true)
      } else {
        expect(isDeletion.Check({ postId: e.postId, at: e.at })).toBe(true)
        expect(ids.has(e.postId)).toBe(true)
      }
    }
    expect(events.filter((e) => e.kind === 'engagement').length).toBeGreaterThan(0)
    expect(events.filter((e) => e.kind === 'delete').length).toBeGreaterThan(0)
    expect(deadLetter.records).toEqual([])
  })

  it('leaves no socket, timer or listener behind when unsubscribed', async () => {
    await new Promise((r) => setTimeout(r, 50))
    const before = resources()
    const { events } = listen()
    await until('a connection', () => harness.connections() === 1)
    harness.publish(3)
    await until('3 posts', () => posts(events) >= 3)
    subscription!.unsubscribe()
    await until('the service to see the client go', () => harness.connections() === 0)
    await until('its handles to close', () => resources() <= before)
    const seen = events.length
    harness.publish(3)
    await new Promise((r) => setTimeout(r, 100))
    expect(events.length).toBe(seen)
  })

  it('connects again when the service drops the connection, and misses nothing', async () => {
    const { events } = listen()
    await until('a connection', () => harness.connections() === 1)
    const before = harness.publish(5)
    await until('5 posts', () => posts(events) >= before)
    harness.drop()
    const away = harness.publish(5)
    await until('the posts published while it was away', () => posts(events) >= before + away, 10_000)
    expect(new Set(events.map(keyOf)).size).toBe(events.length)
  })

  it('resumes after a restart from the saved cursor, with no gap and no duplicate', async () => {
    const first = listen()
    await until('a connection', () => harness.connections() === 1)
    const before = harness.publish(10)
    await until('10 posts', () => posts(first.events) >= before)
    subscription!.unsubscribe()
    await until('the service to see the client go', () => harness.connections() === 0)
    const stopped = harness.publish(10)
    const second = listen()
    await until('the 10 posts published while it was stopped', () => posts(second.events) >= stopped, 10_000)
    await new Promise((r) => setTimeout(r, 100))
    const all = [...first.events, ...second.events].map(keyOf)
    expect(new Set(all).size).toBe(all.length)
    expect(posts(first.events)).toBe(before)
    expect(posts(second.events)).toBe(stopped)
    // Stopped again at once, and started: nothing read before comes again.
    subscription!.unsubscribe()
    await until('the service to see the client go', () => harness.connections() === 0)
    const third = listen()
    await until('a connection', () => harness.connections() === 1)
    const later = harness.publish(2)
    await until('the 2 new posts', () => posts(third.events) >= later)
    await new Promise((r) => setTimeout(r, 100))
    expect(posts(third.events)).toBe(later)
  })

  it('after a crash, resumes from the cursor as last saved while running, and misses nothing', async () => {
    const first = listen()
    await until('a connection', () => harness.connections() === 1)
    const a = harness.publish(5)
    await until('the first posts', () => posts(first.events) >= a)
    // What a crash leaves: the cursor as saved while running, not at a stop.
    const crashed = readFileSync(cursorPath(), 'utf8')
    const b = harness.publish(5)
    await until('the next posts', () => posts(first.events) >= a + b)
    subscription!.unsubscribe()
    await until('the service to see the client go', () => harness.connections() === 0)
    writeFileSync(cursorPath(), crashed)
    const c = harness.publish(5)
    const second = listen()
    const ids = () =>
      new Set([...first.events, ...second.events].flatMap((e) => (e.kind === 'post' ? [e.post.id] : [])))
    await until('every post, once at least', () => ids().size >= a + b + c, 10_000)
    expect(ids().size).toBe(a + b + c)
  })

  it('dead-letters a malformed message with its reason, and the stream goes on', async () => {
    const { events, deadLetter } = listen()
    await until('a connection', () => harness.connections() === 1)
    harness.malformed()
    harness.publish(3)
    await until('3 posts after the bad ones', () => posts(events) >= 3)
    expect(deadLetter.records.length).toBe(2)
    for (const r of deadLetter.records) {
      expect(r.stage).toBe(harness.name.split(' ')[0])
      expect(r.reason.length).toBeGreaterThan(5)
    }
  })
})
