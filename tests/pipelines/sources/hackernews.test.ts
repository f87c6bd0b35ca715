// Hacker News items, as the API's README documents them, read into Undertow's events; and the source
// against a fake API: an id still propagating, points that rise, a deletion.
import { join } from 'node:path'
import type { Subscription } from 'rxjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SourceEvent } from '../../../pipelines/schema.ts'
import { MemoryDeadLetter } from '../../../pipelines/sinks/deadletter.ts'
import { CursorFile } from '../../../pipelines/sources/cursor-file.ts'
import {
  type HackerNewsCursor,
  hackerNewsSource,
  isHackerNewsCursor,
  newHackerNewsStats,
} from '../../../pipelines/sources/hackernews.ts'
import { checkItem, eventsOf, type Item } from '../../../pipelines/sources/hackernews/parse.ts'
import { FakeHackerNews } from '../../support/fake-hackernews.ts'
import { tmpDir } from '../../support/tmp.ts'
import { until } from '../../support/until.ts'

// The README's own examples.
const story = {
  by: 'dhouston',
  descendants: 71,
  id: 8863,
  kids: [8952, 9224],
  score: 111,
  time: 1175714200,
  title: 'My YC app: Dropbox - Throw away your USB drive',
  type: 'story',
  url: 'http://www.getdropbox.com/u/2/screencast.html',
}
const comment = {
  by: 'norvig',
  id: 2921983,
  kids: [2922097],
  parent: 2921506,
  text: 'Aw shucks, guys ... you make me blush with your compliments.<p>Tell you what, Ill make a deal: I&#x27;ll keep writing if you keep reading. K?',
  time: 1314211127,
  type: 'comment',
}
const ask = {
  by: 'tel',
  descendants: 16,
  id: 121003,
  kids: [121016],
  score: 25,
  text: '<i>or</i> HN: the Next Iteration<p>I get the impression that with Arc being released a lot of people are...',
  time: 1203647620,
  title: 'Ask HN: The Arc Effect',
  type: 'story',
}

describe('Hacker News items', () => {
  it('reads a story into a post with its link, points and comment count', () => {
    expect(eventsOf(checkItem(story) as Item)).toEqual([
      {
        kind: 'post',
        post: {
          id: 'hackernews:8863',
          source: 'hackernews',
          url: 'http://www.getdropbox.com/u/2/screencast.html',
          author: { id: 'dhouston', handle: 'dhouston', displayName: 'dhouston', followers: 0 },
          text: 'My YC app: Dropbox - Throw away your USB drive',
          lang: '',
          createdAt: '2007-04-04T19:16:40.000Z',
          engagement: { likes: 110, reposts: 0, replies: 71, quotes: 0 },
          brands: [],
          terms: [],
        },
      },
    ])
  })

  it('reads an Ask HN as title then text, and a comment as text with a reply on its parent', () => {
    expect(eventsOf(checkItem(ask) as Item)[0]).toMatchObject({
      post: {
        text: 'Ask HN: The Arc Effect\n\nor HN: the Next Iteration\n\nI get the impression that with Arc being released a lot of people are...',
        url: 'https://news.ycombinator.com/item?id=121003',
      },
    })
    const [post, reply] = eventsOf(checkItem(comment) as Item)
    expect(post).toMatchObject({
      post: {
        id: 'hackernews:2921983',
        replyTo: 'hackernews:2921506',
        text: "Aw shucks, guys ... you make me blush with your compliments.\n\nTell you what, Ill make a deal: I'll keep writing if you keep reading. K?",
      },
    })
    expect(reply).toEqual({
      kind: 'engagement',
      update: {
        id: 'hackernews:2921983#reply',
        postId: 'hackernews:2921506',
        at: '2011-08-24T18:38:47.000Z',
        delta: { likes: 0, reposts: 0, replies: 1, quotes: 0 },
      },
    })
  })

  it('skips what is not a readable post: deleted, dead, jobs and poll options; null is "not there yet"', () => {
    expect(eventsOf(checkItem({ id: 1, type: 'comment', deleted: true, time: 1 }) as Item)).toEqual([])
    expect(eventsOf(checkItem({ ...comment, dead: true }) as Item)).toEqual([])
    expect(eventsOf(checkItem({ by: 'pg', id: 2, type: 'job', title: 'Hiring', time: 5 }) as Item)).toEqual([])
    expect(
      eventsOf(
        checkItem({
          by: 'pg',
          id: 160705,
          poll: 160704,
          score: 335,
          text: 'Yes',
          time: 1207886576,
          type: 'pollopt',
        }) as Item,
      ),
    ).toEqual([])
    expect(checkItem(null)).toBeNull()
  })

  it('says what is wrong with a malformed item', () => {
    expect(checkItem({ id: 'x', type: 'story' })).toMatch(/^item\.id: expected a positive integer/)
    expect(checkItem({ id: 5, type: 'blogpost' })).toMatch(/^item 5\.type/)
    expect(checkItem({ id: 5, type: 'story', title: ['a'] })).toMatch(/^item 5\.title: expected a string/)
    expect(checkItem({ id: 5, type: 'comment', parent: -1 })).toMatch(/^item 5\.parent/)
    expect(checkItem([1])).toMatch(/^item: expected an object or null, got an array/)
  })
})

describe('Hacker News source against a fake API', () => {
  const fake = new FakeHackerNews()
  const dir = tmpDir('hackernews')
  let subscription: Subscription | undefined
  beforeAll(() => fake.start())
  afterAll(async () => {
    subscription?.unsubscribe()
    await fake.close()
    dir.remove()
  })

  it('waits for an id still propagating, follows points and deletions of what it read', async () => {
    const events: SourceEvent[] = []
    const stats = newHackerNewsStats()
    subscription = hackerNewsSource({ url: fake.url, deadLetter: new MemoryDeadLetter(), pollMs: 20, stats }).subscribe(
      (e) => events.push(e),
    )
    // The first poll's answer fixes where it starts: only what comes after is read.
    const requests = fake.requests
    await until('the expected state', () => fake.requests > requests)
    const propagating = fake.pending()
    const after = fake.story('pg', 'Lumen after')
    await until('the expected state', () => stats.polls >= 3)
    // Nothing past the id that is not there yet: order is kept.
    expect(events).toEqual([])
    fake.reveal(propagating, { by: 'dang', type: 'story', title: 'Lumen first', score: 1 })
    await until('the expected state', () => events.length === 2)
    expect(events.map((e) => (e.kind === 'post' ? e.post.id : ''))).toEqual([
      `hackernews:${propagating}`,
      `hackernews:${after}`,
    ])
    fake.vote(after, 4)
    await until('the expected state', () => events.length === 3)
    expect(events[2]).toMatchObject({
      kind: 'engagement',
      update: { postId: `hackernews:${after}`, delta: { likes: 4 } },
    })
    fake.delete(propagating)
    await until('the expected state', () => events.length === 4)
    expect(events[3]).toMatchObject({ kind: 'delete', postId: `hackernews:${propagating}` })
    // Still named by later updates: nothing passed on twice.
    const polls = stats.polls
    await until('the expected state', () => stats.polls >= polls + 5)
    expect(events).toHaveLength(4)
  })

  it('after a crash, reads again the items before its cursor, from the first one it read', async () => {
    subscription?.unsubscribe()
    const cursorFile = new CursorFile<HackerNewsCursor>(join(dir.path, 'hn-cursor.json'))
    const events: SourceEvent[] = []
    const listen = () =>
      (subscription = hackerNewsSource({
        url: fake.url,
        deadLetter: new MemoryDeadLetter(),
        cursorFile,
        pollMs: 20,
      }).subscribe((e) => events.push(e)))
    const requests = fake.requests
    listen()
    await until('the expected state', () => fake.requests > requests + 1)
    const ids = [fake.story('pg', 'Lumen one'), fake.story('pg', 'Lumen two'), fake.story('pg', 'Lumen three')]
    await until('the expected state', () => events.length === 3)
    subscription!.unsubscribe()
    // A crash leaves the cursor without the keys a clean stop keeps.
    const { recent: _, ...crashed } = cursorFile.load(isHackerNewsCursor)!
    cursorFile.save(crashed)
    const again: SourceEvent[] = []
    subscription = hackerNewsSource({
      url: fake.url,
      deadLetter: new MemoryDeadLetter(),
      cursorFile,
      pollMs: 20,
    }).subscribe((e) => again.push(e))
    await until('the expected state', () => again.length === 3)
    expect(again.map((e) => (e.kind === 'post' ? e.post.id : ''))).toEqual(ids.map((id) => `hackernews:${id}`))
  })
})
