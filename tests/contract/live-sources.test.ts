// The contract every live connector keeps, run against a local fake of its service that speaks
// the service's public wire format: events are schema-valid; unsubscribing leaves no socket, timer
// or listener behind; a connection the server drops is made again; a restart resumes from the
// saved cursor with no gap and no duplicate; a malformed message is dead-lettered with its reason
// and the stream goes on. Each connector adds a harness to LIVE_SOURCES.
import { join } from 'node:path'
import type { Observable, Subscription } from 'rxjs'
import { Compile } from 'typebox/compile'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EngagementUpdate, Post, PostDeletion, type SourceEvent } from '../../pipelines/schema.ts'
import { CursorFile } from '../../pipelines/sources/cursor-file.ts'
import { type JetstreamCursor, jetstreamSource } from '../../pipelines/sources/jetstream.ts'
import { MemoryDeadLetter } from '../../pipelines/sinks/deadletter.ts'
import { FakeJetstream } from '../support/fake-jetstream.ts'
import { tmpDir } from '../support/tmp.ts'

interface Harness {
  name: string
  start(): Promise<void>
  close(): Promise<void>
  /** A new subscription to the source, resuming from its saved place (`cursor`: that file). */
  source(cursorPath: string, deadLetter: MemoryDeadLetter): Observable<SourceEvent>
  /** The service publishes `n` posts, and engagement and a delete on some of them; returns how many posts that makes (replies and quotes are posts too). */
  publish(n: number): number
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
  let n = 0
  return {
    name: `jetstream v${version}`,
    start: async () => void (await fake.start()),
    close: () => fake.close(),
    source: (cursorPath, deadLetter) =>
      jetstreamSource({ url: fake.url(version), version, deadLetter, cursorFile: new CursorFile<JetstreamCursor>(cursorPath), backoff: { initialMs: 20, maxMs: 200 } }),
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
        if (n % 9 === 0) fake.deletePost(uri)
        made += 1 + (n % 4 === 0 ? 1 : 0) + (n % 5 === 0 ? 1 : 0)
        n++
      }
      return made
    },
    drop: () => fake.dropAll(),
    malformed: () => {
      fake.sendRaw('{"did": "did:plc:alice", "time_us": "yesterday", "kind": "commit"')
      fake.sendRaw(version === 1 ? JSON.stringify({ did: 'did:plc:alice', time_us: 1, kind: 'commit', commit: { operation: 'explode' } }) : JSON.stringify({ $type: 'message', payload: { $type: 'nope' } }))
    },
    connections: () => fake.subscribers.size,
  }
}

const LIVE_SOURCES: Harness[] = [jetstream(1), jetstream(2)]

const isPost = Compile(Post)
const isUpdate = Compile(EngagementUpdate)
const isDeletion = Compile(PostDeletion)
const keyOf = (e: SourceEvent) => (e.kind === 'post' ? e.post.id : e.kind === 'engagement' ? e.update.id : `delete:${e.postId}`)

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const posts = (events: SourceEvent[]) => events.filter((e) => e.kind === 'post').length
/** Handles that keep the event loop alive (sockets, timers): what a leak leaves behind. */
const resources = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap' || r === 'TCPWRAP').length

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
    const ids = new Set<string>()
    const keys = new Set<string>()
    for (const e of events) {
      expect(keys.has(keyOf(e)), keyOf(e)).toBe(false)
      keys.add(keyOf(e))
      if (e.kind === 'post') {
        expect(isPost.Check(e.post), JSON.stringify([...isPost.Errors(e.post)].slice(0, 2))).toBe(true)
        expect(e.post.source).toBe('jetstream')
        expect(e.post.id.startsWith('jetstream:')).toBe(true)
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
