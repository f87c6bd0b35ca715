// The launch day as a pure, deterministic sequence of timed events: `generate(scenario, seed)`
// yields posts, brand replies and engagement updates in simulated-time order, forever. The
// simulator source paces it against real time; tests read it directly, with its ground truth.
import TinyQueue from 'tinyqueue'
import type { Engagement, Post, SourceEvent } from '../../schema.ts'
import { brandAccount, makeAuthors, pickAuthor } from './authors.ts'
import { Random } from './random.ts'
import { backlashRate, brandHandles, brandRate, competitorRate, type Scenario } from './scenario.ts'
import {
  BROADCAST_TEMPLATES,
  COMPETITOR_TEMPLATES,
  fill,
  REPLY_TEMPLATES,
  TEMPLATES,
  THREAD_TEMPLATES,
  type PostKind,
  type Slots,
} from './texts.ts'

/** What the scenario meant a post to be, for tests; never sent downstream. */
export interface Truth {
  stream: 'brand' | 'backlash' | 'competitor' | 'reply' | 'broadcast' | 'thread'
  kind: PostKind | 'competitor' | 'reply' | 'broadcast' | 'thread'
}

export interface TimedEvent {
  /** Simulated seconds after the scenario's start. */
  at: number
  event: SourceEvent
  truth?: Truth
}

const ZERO: Engagement = { likes: 0, reposts: 0, replies: 0, quotes: 0 }

/** Mix of brand mentions before and after the launch (weights, not shares). */
const BEFORE_LAUNCH: Record<PostKind, number> = {
  praise: 12,
  neutral: 30,
  question: 18,
  suggestion: 10,
  mixed: 6,
  comparison: 8,
  complaint: 6,
  backlash: 0,
  backlashQuestion: 0,
  backlashMixed: 0,
}
const AFTER_LAUNCH: Record<PostKind, number> = {
  praise: 30,
  neutral: 20,
  question: 14,
  suggestion: 10,
  mixed: 9,
  comparison: 9,
  complaint: 8,
  backlash: 0,
  backlashQuestion: 0,
  backlashMixed: 0,
}
const BACKLASH: Record<PostKind, number> = {
  praise: 0,
  neutral: 0,
  question: 0,
  suggestion: 0,
  mixed: 0,
  comparison: 0,
  complaint: 0,
  backlash: 70,
  backlashQuestion: 18,
  backlashMixed: 12,
}
const NEEDS_REPLY = new Set<PostKind>(['question', 'complaint', 'backlash', 'backlashQuestion'])

export function* generate(scenario: Scenario, seed: number): Generator<TimedEvent, never> {
  const random = new Random(seed)
  const authors = makeAuthors(scenario.authors, random)
  const [mainHandle, supportHandle] = brandHandles(scenario) as [string, string]
  const support = brandAccount(supportHandle, `${scenario.brand} Support`)
  const main = brandAccount(mainHandle, scenario.brand)
  // The brand's own posts and their threads draw from a generator of their own, so adding them
  // left every other post of a seed as it was.
  const threads = new Random(seed ^ 0x5eed)
  let threaded = 0
  const start = Date.parse(scenario.start)
  const queue = new TinyQueue<TimedEvent & { seq: number }>([], (a, b) => a.at - b.at || a.seq - b.seq)
  let seq = 0
  let posts = 0
  // Ids carry the run (seed and start) so a restarted simulator never reuses a stored post's id.
  const run = `${seed}-${start.toString(36)}`
  const push = (e: TimedEvent) => queue.push({ ...e, seq: seq++ })

  const post = (at: number, author: Post['author'], text: string, extra: Partial<Post> = {}): Post => ({
    id: extra.id ?? `simulator:${run}:${posts++}`,
    source: 'simulator',
    url: '',
    author,
    text,
    lang: 'en',
    createdAt: new Date(start + at * 1000).toISOString(),
    engagement: { ...ZERO },
    brands: [],
    terms: [],
    ...extra,
  })

  const slots = (author: Post['author'], from: Random = random): Slots => ({
    brand: scenario.brand,
    product: scenario.product,
    rival: from.pick(scenario.competitors),
    handle: mainHandle,
    user: author.handle,
    symptom: from.pick(scenario.problem.symptoms),
    trigger: scenario.problem.trigger,
  })

  const schedule = (at: number, p: Post, truth: Truth, kind?: PostKind) => {
    push({ at, event: { kind: 'post', post: p }, truth })
    scheduleEngagement(at, p, truth.stream === 'backlash' ? 3 : 1)
    if (kind && NEEDS_REPLY.has(kind)) {
      const share = at >= scenario.backlashAt ? scenario.replyShareDuringBacklash : scenario.replyShare
      if (random.chance(share)) {
        const delay = Math.max(30, 60 * random.logNormal(scenario.replyMedianMinutes, scenario.replySpread))
        const text = fill(random.pick(REPLY_TEMPLATES), slots(p.author), random)
        const reply = post(at + delay, support, text, { replyTo: p.id })
        push({ at: at + delay, event: { kind: 'post', post: reply }, truth: { stream: 'reply', kind: 'reply' } })
      }
    }
  }

  // Likes and reposts trickle in after a post, in a few batches; bigger audiences bring more.
  const scheduleEngagement = (at: number, p: Post, virality: number) => {
    const expected = virality * (0.3 + 0.03 * p.author.followers ** 0.6) * random.logNormal(1, 0.8)
    const likes = random.poisson(Math.min(expected, 5_000))
    if (likes === 0) return
    const total: Engagement = {
      likes,
      reposts: random.poisson(likes * 0.15),
      replies: random.poisson(likes * 0.05),
      quotes: random.poisson(likes * 0.02),
    }
    const batches = Math.min(4, likes)
    const cuts = Array.from({ length: batches }, () => random.exponential(600)).sort((a, b) => a - b)
    let given: Engagement = { ...ZERO }
    cuts.forEach((delay, i) => {
      const share = (i + 1) / batches
      const upTo: Engagement = {
        likes: Math.round(total.likes * share),
        reposts: Math.round(total.reposts * share),
        replies: Math.round(total.replies * share),
        quotes: Math.round(total.quotes * share),
      }
      const delta = {
        likes: upTo.likes - given.likes,
        reposts: upTo.reposts - given.reposts,
        replies: upTo.replies - given.replies,
        quotes: upTo.quotes - given.quotes,
      }
      given = upTo
      const when = at + 5 + delay
      push({
        at: when,
        event: {
          kind: 'engagement',
          update: {
            id: `${p.id}:engagement:${i}`,
            postId: p.id,
            at: new Date(start + when * 1000).toISOString(),
            delta,
          },
        },
      })
    })
  }

  // A reply in the thread under an own post, and (sometimes) replies to it, the brand's among them.
  const scheduleThread = (at: number, parent: Post, depth: number) => {
    for (let n = threads.poisson(depth === 1 ? scenario.threadReplies : 0.4); n > 0; n--) {
      const when = at + 30 + threads.exponential(depth === 1 ? 900 : 400)
      const byBrand = depth > 1 && threads.chance(0.2)
      const author = byBrand ? support : pickAuthor(authors, threads)
      const text = fill(
        threads.pick(byBrand ? REPLY_TEMPLATES : THREAD_TEMPLATES),
        slots(byBrand ? parent.author : author, threads),
        threads,
      )
      const reply = post(when, author, text, { id: `simulator:${run}:t${threaded++}`, replyTo: parent.id })
      push({ at: when, event: { kind: 'post', post: reply }, truth: { stream: 'thread', kind: 'thread' } })
      if (depth < 4) scheduleThread(when, reply, depth + 1)
    }
  }

  for (let tick = 0; ; tick++) {
    if (threads.chance(scenario.broadcastsPerHour / 3600)) {
      const own = post(tick, main, fill(threads.pick(BROADCAST_TEMPLATES), slots(main, threads), threads), {
        id: `simulator:${run}:t${threaded++}`,
      })
      push({ at: tick, event: { kind: 'post', post: own }, truth: { stream: 'broadcast', kind: 'broadcast' } })
      scheduleThread(tick, own, 1)
    }
    const mix = tick < scenario.launchAt ? BEFORE_LAUNCH : AFTER_LAUNCH
    for (let n = random.poisson(brandRate(scenario, tick) / 60); n > 0; n--) {
      const kind = random.weighted(mix)
      const author = pickAuthor(authors, random)
      const at = tick + random.next()
      schedule(
        at,
        post(at, author, fill(random.pick(TEMPLATES[kind]), slots(author), random)),
        { stream: 'brand', kind },
        kind,
      )
    }
    for (let n = random.poisson(backlashRate(scenario, tick) / 60); n > 0; n--) {
      const kind = random.weighted(BACKLASH)
      const author = pickAuthor(authors, random)
      const at = tick + random.next()
      schedule(
        at,
        post(at, author, fill(random.pick(TEMPLATES[kind]), slots(author), random)),
        { stream: 'backlash', kind },
        kind,
      )
    }
    for (const rival of scenario.competitors) {
      for (let n = random.poisson(competitorRate(scenario, tick) / 60); n > 0; n--) {
        const tone = random.weighted({ positive: 4, neutral: 4, negative: 2 })
        const author = pickAuthor(authors, random)
        const at = tick + random.next()
        const text = fill(random.pick(COMPETITOR_TEMPLATES[tone]), { ...slots(author), rival }, random)
        schedule(at, post(at, author, text), { stream: 'competitor', kind: 'competitor' })
      }
    }
    while (queue.length > 0 && queue.peek()!.at < tick + 1) {
      const { seq: _seq, ...event } = queue.pop()!
      yield event
    }
  }
}
