// npm run bench:sources [-- --events 200000 --rounds 5]
// Events/s through each source's parser on one core (this process's one thread), against the
// floor: JSON.parse alone over the same frames, measured in the same run, interleaved, medians
// quoted. Jetstream frames are shaped like the firehose a brand monitor subscribes to (posts,
// likes and reposts: mostly likes), with replies, quotes and mentions among the posts.
import { parseArgs } from 'node:util'
import { parseV1, parseV2, readEvent } from '../../pipelines/sources/jetstream/parse.ts'
import { checkItem, eventsOf as hnEvents, type Item } from '../../pipelines/sources/hackernews/parse.ts'
import { readStreamMessage } from '../../pipelines/sources/mastodon/parse.ts'
import { readIngestBody } from '../../pipelines/sources/webhook.ts'
import { fmt, median } from './stats.ts'

const { values: args } = parseArgs({
  options: { events: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '5' } },
})
const EVENTS = Number(args.events)
const ROUNDS = Number(args.rounds)

const did = (i: number) => `did:plc:${((i * 2654435761) % 2 ** 32).toString(36).padStart(24, 'q')}`
const rkey = (i: number) => `3l${i.toString(36).padStart(11, 'a')}`
const postUri = (i: number) => `at://${did(i % 5000)}/app.bsky.feed.post/${rkey(i)}`
const ref = (uri: string) => ({ uri, cid: 'bafyreidc6sydkkbchcyg62v77wbhzvb2mvytlmsychqgwf2xojjtirmzj4' })
const TEXTS = [
  'Lumen X battery dies by 3pm, is that normal?',
  'Would be great if Lumen added a dark mode to the app',
  '@lumen.bsky.social support fixed it in ten minutes, impressed 🔋',
  'Lumen vs Corvid: screen is better on the Lumen, battery worse',
]

/** One firehose event as Jetstream v1 would send it: 15% posts, 75% likes, 10% reposts. */
function commit(i: number) {
  const kind = i % 20
  if (kind < 3) {
    const record = {
      $type: 'app.bsky.feed.post',
      text: TEXTS[i % TEXTS.length],
      createdAt: new Date(1_790_000_000_000 + i).toISOString(),
      langs: ['en'],
      ...(i % 3 === 0 ? { reply: { root: ref(postUri(i - 7)), parent: ref(postUri(i - 7)) } } : {}),
      ...(i % 11 === 0 ? { embed: { $type: 'app.bsky.embed.record', record: ref(postUri(i - 13)) } } : {}),
      ...(i % 4 === 0
        ? {
            facets: [
              {
                index: { byteStart: 0, byteEnd: 18 },
                features: [{ $type: 'app.bsky.richtext.facet#mention', did: did(1) }],
              },
            ],
          }
        : {}),
    }
    return {
      rev: '3l3qo2vutsw2b',
      operation: 'create',
      collection: 'app.bsky.feed.post',
      rkey: rkey(i),
      record,
      cid: 'bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi',
    }
  }
  const collection = kind < 18 ? 'app.bsky.feed.like' : 'app.bsky.feed.repost'
  return {
    rev: '3l3qo2vutsw2b',
    operation: 'create',
    collection,
    rkey: rkey(i),
    record: {
      $type: collection,
      createdAt: new Date(1_790_000_000_000 + i).toISOString(),
      subject: ref(postUri(i - 3)),
    },
    cid: 'bafyreihq3yvuyxbx7xb5ql4ufkr6m6ydzqhx6ysr2xr3fgyrfxbvh7e6ai',
  }
}
const timeUs = (i: number) => 1_790_000_000_000_000 + i * 997
const v1Frames = Array.from({ length: EVENTS }, (_, i) =>
  JSON.stringify({ did: did(i % 5000), time_us: timeUs(i), kind: 'commit', commit: commit(i) }),
)
const v2Frames = Array.from({ length: EVENTS }, (_, i) => {
  const us = timeUs(i)
  const time = `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`
  return JSON.stringify({
    $type: 'message',
    payload: {
      $type: 'network.bsky.jetstream.subscribeEvents#commit',
      seq: i + 1,
      did: did(i % 5000),
      time,
      ...commit(i),
    },
  })
})
const webhookPosts = v1Frames.slice(0, Math.min(EVENTS, 50_000)).map((_, i) =>
  JSON.stringify({
    id: `webhook:${i}`,
    source: 'webhook',
    url: '',
    author: { id: `a${i % 5000}`, handle: `user${i % 5000}`, displayName: '', followers: i % 997 },
    text: TEXTS[i % TEXTS.length],
    lang: 'en',
    createdAt: new Date(1_790_000_000_000 + i).toISOString(),
    engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
    brands: [],
    terms: [],
  }),
)
// Mastodon streaming messages: `update` events whose payload is a Status as a JSON string, its
// content HTML with a hashtag link and a mention, as instances send them.
const mastodonMessages = Array.from({ length: Math.min(EVENTS, 50_000) }, (_, i) => {
  const status = {
    id: String(113_000_000_000_000_000n + BigInt(i)),
    uri: `https://mastodon.example/users/u${i % 5000}/statuses/${i}`,
    url: `https://mastodon.example/@u${i % 5000}/${i}`,
    created_at: new Date(1_790_000_000_000 + i).toISOString(),
    content: `<p>${TEXTS[i % TEXTS.length]} <a href="https://mastodon.example/tags/lumen" class="mention hashtag" rel="tag">#<span>lumen</span></a> <span class="h-card"><a href="https://mastodon.example/@lumen" class="u-url mention">@<span>lumen</span></a></span></p>`,
    spoiler_text: '',
    visibility: 'public',
    language: 'en',
    in_reply_to_id: i % 4 === 0 ? String(113_000_000_000_000_000n + BigInt(i - 3)) : null,
    reblog: null,
    replies_count: 0,
    reblogs_count: i % 3,
    favourites_count: i % 7,
    account: {
      id: String(i % 5000),
      username: `u${i % 5000}`,
      acct: `u${i % 5000}`,
      display_name: `User ${i % 5000}`,
      followers_count: i % 997,
    },
    mentions: [],
    tags: [{ name: 'lumen', url: 'https://mastodon.example/tags/lumen' }],
  }
  return JSON.stringify({ stream: ['hashtag', 'lumen'], event: 'update', payload: JSON.stringify(status) })
})
const mastodonAt = new Date()
function mastodon(): number {
  const start = performance.now()
  for (const text of mastodonMessages) {
    const reading = readStreamMessage(text, 'mastodon.example', mastodonAt)
    if (!reading.ok) throw new Error(reading.reason)
    sink += reading.events.length
  }
  return mastodonMessages.length / ((performance.now() - start) / 1000)
}

// Hacker News items as /item/{id}.json answers them: a third stories, the rest comments with HTML.
const hnItems = Array.from({ length: Math.min(EVENTS, 50_000) }, (_, i) =>
  JSON.stringify(
    i % 3 === 0
      ? {
          by: `user${i % 5000}`,
          descendants: i % 40,
          id: 40_000_000 + i,
          score: 1 + (i % 90),
          time: 1_790_000_000 + i,
          title: TEXTS[i % TEXTS.length],
          type: 'story',
          url: `https://example.com/${i}`,
        }
      : {
          by: `user${i % 5000}`,
          id: 40_000_000 + i,
          parent: 40_000_000 + i - 1,
          text: `${TEXTS[i % TEXTS.length]}<p>I&#x27;d say <i>it depends</i> on <a href="https://example.com">the review</a>`,
          time: 1_790_000_000 + i,
          type: 'comment',
        },
  ),
)
function hackernews(): number {
  const start = performance.now()
  for (const text of hnItems) {
    const item = checkItem(JSON.parse(text))
    if (item === null || typeof item === 'string') throw new Error(String(item))
    sink += hnEvents(item as Item).length
  }
  return hnItems.length / ((performance.now() - start) / 1000)
}

const webhookBodies: string[] = []
for (let i = 0; i < webhookPosts.length; i += 10_000) webhookBodies.push(webhookPosts.slice(i, i + 10_000).join('\n'))

let sink = 0
const handleOf = () => undefined
function jetstream(frames: string[], parse: typeof parseV1): number {
  const start = performance.now()
  for (const text of frames) {
    const frame = parse(text)
    if (!frame.ok || !frame.event) throw new Error(`unread frame: ${text}`)
    const reading = readEvent(frame.event, handleOf)
    if ('error' in reading) throw new Error(reading.error)
    sink += reading.events.length
  }
  return frames.length / ((performance.now() - start) / 1000)
}
function jsonOnly(frames: string[]): number {
  const start = performance.now()
  for (const text of frames) sink += (JSON.parse(text) as object) ? 1 : 0
  return frames.length / ((performance.now() - start) / 1000)
}
function webhook(): number {
  const start = performance.now()
  for (const body of webhookBodies) {
    const read = readIngestBody(body, 'ndjson')
    if (!read.ok || read.rejected.length > 0) throw new Error('webhook body refused')
    sink += read.posts.length
  }
  return webhookPosts.length / ((performance.now() - start) / 1000)
}

const cases: [string, () => number][] = [
  ['JSON.parse alone (floor), v1 frames', () => jsonOnly(v1Frames)],
  ['Jetstream v1', () => jetstream(v1Frames, parseV1)],
  ['Jetstream v2', () => jetstream(v2Frames, parseV2)],
  ['JSON.parse alone (floor), Mastodon messages', () => jsonOnly(mastodonMessages)],
  ['Mastodon (Status JSON in JSON, HTML to text)', mastodon],
  ['JSON.parse alone (floor), Hacker News items', () => jsonOnly(hnItems)],
  ['Hacker News (items, comment HTML to text)', hackernews],
  ['JSON.parse alone (floor), webhook lines', () => jsonOnly(webhookPosts)],
  ['webhook NDJSON (validated posts)', webhook],
]
const results = new Map<string, number[]>(cases.map(([name]) => [name, []]))
jetstream(v1Frames.slice(0, 20_000), parseV1) // warm the JIT
for (let round = 0; round < ROUNDS; round++) for (const [name, run] of cases) results.get(name)!.push(run())

console.log(
  `== parsers, one core: ${fmt(EVENTS, 0)} Jetstream frames (15% posts, 75% likes, 10% reposts), ${fmt(mastodonMessages.length, 0)} Mastodon messages, ${fmt(hnItems.length, 0)} Hacker News items, ${fmt(webhookPosts.length, 0)} webhook posts; median of ${ROUNDS} interleaved rounds`,
)
const floorOf = (prefix: string) =>
  median(results.get(cases.find(([n]) => n.startsWith('JSON.parse') && n.includes(prefix))![0])!)
for (const [name] of cases) {
  const m = median(results.get(name)!)
  const floor = floorOf(
    name.includes('webhook')
      ? 'webhook'
      : name.includes('Mastodon')
        ? 'Mastodon'
        : name.includes('Hacker News')
          ? 'Hacker News'
          : 'v1',
  )
  console.log(`${name.padEnd(42)} ${fmt(m, 0).padStart(10)} events/s   ${(m / floor).toFixed(2)} of JSON.parse alone`)
}
const v1 = median(results.get('Jetstream v1')!)
console.log(
  `Jetstream v1 against the target of 20,000 events/s: ${(v1 / 20_000).toFixed(1)}x   (${fmt(sink, 0)} events read in all)`,
)
