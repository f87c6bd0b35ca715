// Outbound webhooks against a real HTTP receiver on loopback that answers as Slack's incoming
// webhooks do (200 "ok"; 429 with Retry-After when rate limited; 4xx for a payload it refuses; 5xx
// when it is down): order, retries, refusals, dead letters, and what the messages hold.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlertChange } from '../../pipelines/metrics/alerting.ts'
import type { Alert, ScoredPost } from '../../pipelines/schema.ts'
import { alertMessage, retryAfterMs, teamMessage, WebhookPoster, WebhookSink } from '../../pipelines/sinks/webhook.ts'
import { MemoryDeadLetter } from '../support/fixtures.ts'

interface Received {
  path: string
  body: Record<string, unknown>
}

let server: Server
let base: string
const received: Received[] = []
/** Per path, the statuses to answer with before "200 ok" (and a Retry-After for 429s). */
const scripts = new Map<string, number[]>()

const read = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let data = ''
    req.on('data', (c: Buffer) => (data += c.toString()))
    req.on('end', () => resolve(data))
  })

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await read(req)
    const status = scripts.get(req.url!)?.shift() ?? 200
    if (req.headers['content-type'] !== 'application/json') {
      res.writeHead(400).end('invalid_payload')
      return
    }
    if (status === 200) received.push({ path: req.url!, body: JSON.parse(body) as Record<string, unknown> })
    res.writeHead(status, status === 429 ? { 'retry-after': '1' } : {}).end(status === 200 ? 'ok' : 'no')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

const fast = { retryBaseMs: 20 }

describe('webhook poster', () => {
  it('reads Retry-After in seconds or as a date', () => {
    const now = Date.parse('2026-11-30T12:00:00Z')
    expect(retryAfterMs('120', now)).toBe(120_000)
    expect(retryAfterMs('Mon, 30 Nov 2026 12:01:30 GMT', now)).toBe(90_000)
    expect(retryAfterMs('soon', now)).toBeNull()
    expect(retryAfterMs(null, now)).toBeNull()
  })

  it('dead-letters what still waits when Undertow stops', async () => {
    scripts.set('/slow', [503, 503, 503])
    const deadLetter = new MemoryDeadLetter()
    const poster = new WebhookPoster('the slow hook', `${base}/slow`, deadLetter, { retryBaseMs: 200 })
    poster.post({ text: 'first' })
    poster.post({ text: 'second' })
    await new Promise((r) => setTimeout(r, 50))
    poster.abandon()
    poster.post({ text: 'after' })
    await poster.idle()
    expect(deadLetter.records.map((r) => (r.payload as { text: string }).text).sort()).toEqual([
      'after',
      'first',
      'second',
    ])
    expect(received.filter((r) => r.path === '/slow')).toEqual([])
  })

  it('delivers in order, retrying 5xx and honouring a 429 Retry-After', async () => {
    scripts.set('/order', [500, 503])
    const poster = new WebhookPoster('test', `${base}/order`, new MemoryDeadLetter(), fast)
    for (let i = 0; i < 5; i++) poster.post({ text: `message ${i}` })
    await poster.idle()
    expect(received.filter((r) => r.path === '/order').map((r) => r.body.text)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `message ${i}`),
    )
    expect(poster.stats).toEqual({ sent: 5, failed: 0 })

    scripts.set('/limited', [429])
    const limited = new WebhookPoster('test', `${base}/limited`, new MemoryDeadLetter(), fast)
    const started = Date.now()
    limited.post({ text: 'later' })
    await limited.idle()
    expect(Date.now() - started).toBeGreaterThanOrEqual(950)
    expect(limited.stats.sent).toBe(1)
  })

  it('dead-letters a message the receiver refuses, without retrying, and one it never takes', async () => {
    scripts.set('/refuses', [400, 400])
    const deadLetter = new MemoryDeadLetter()
    const poster = new WebhookPoster('the test hook', `${base}/refuses`, deadLetter, fast)
    poster.post({ text: 'refused' })
    poster.post({ text: 'second' })
    await poster.idle()
    expect(deadLetter.records.map((r) => [r.stage, r.reason])).toEqual([
      ['webhook', 'the test hook answered 400 Bad Request'],
      ['webhook', 'the test hook answered 400 Bad Request'],
    ])
    expect(poster.stats).toEqual({ sent: 0, failed: 2 })

    // Nothing listens there: retried, then dead-lettered with the network's reason.
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((r) => closed.close(() => r()))
    const down = new WebhookPoster('a hook that is down', `http://127.0.0.1:${port}/`, deadLetter, fast)
    down.post({ text: 'lost?' })
    await down.idle()
    expect(deadLetter.records.at(-1)).toEqual({
      stage: 'webhook',
      reason: 'a hook that is down: ECONNREFUSED (5 attempts)',
      payload: { text: 'lost?' },
    })
    expect(down.stats.failed).toBe(1)
  })
})

const alert: Alert = {
  id: 'Lumen:2026-11-23T10:00:00.000Z',
  brand: 'Lumen',
  at: '2026-11-23T10:01:00.000Z',
  severity: 'critical',
  state: 'open',
  title: 'Backlash about "battery drain": risk 72 for Lumen',
  why: {
    summary: '40% negative of 60 mentions against 8% usually (z = 9.1)',
    terms: ['battery drain', '<!channel>'],
    examplePostIds: ['simulator:1'],
    score: 72,
    parts: [],
  },
}

describe('messages', () => {
  it('posts an alert as Slack-compatible JSON, with untrusted text escaped', async () => {
    const sink = new WebhookSink(new WebhookPoster('alerts', `${base}/alerts`, new MemoryDeadLetter(), fast), new Map())
    const raised: AlertChange = { kind: 'raised', alert }
    sink.push('alert', raised)
    sink.push('alert', { kind: 'updated', alert: { ...alert, state: 'resolved' } })
    await sink.idle()
    const [first, second] = received.filter((r) => r.path === '/alerts').map((r) => r.body)
    expect(first).toEqual(JSON.parse(JSON.stringify(alertMessage(raised))))
    expect(first!.text).toBe('🔴 Backlash about "battery drain": risk 72 for Lumen')
    expect(JSON.stringify(first!.blocks)).toContain('Rising: battery drain, &lt;!channel&gt;')
    expect(JSON.stringify(first!.blocks)).not.toContain('<!channel>')
    expect(first!.alert).toEqual(alert)
    expect(second!.text).toMatch(/^✅ Resolved: /)
    // A person's acknowledgement reads as one, not as an escalation.
    expect(
      alertMessage({ kind: 'updated', alert: { ...alert, state: 'acknowledged' }, acknowledged: true }),
    ).toMatchObject({ text: '🔴 Acknowledged: Backlash about "battery drain": risk 72 for Lumen' })
    expect(alertMessage({ kind: 'updated', alert: { ...alert, state: 'acknowledged' } })).toMatchObject({
      text: expect.stringMatching(/^🔴 Escalated: /),
    })
  })

  it("posts a team's routed posts to the team's own webhook only", async () => {
    const post = {
      id: 'simulator:9',
      author: { handle: 'ann' },
      text: 'Why does the <b>battery</b> die?',
      sentiment: { label: 'negative' },
    } as unknown as ScoredPost
    const sink = new WebhookSink(
      undefined,
      new Map([['support', new WebhookPoster('support', `${base}/support`, new MemoryDeadLetter(), fast)]]),
    )
    sink.push('teamPosts', { team: 'support', posts: [post] })
    sink.push('teamPosts', { team: 'marketing', posts: [post] })
    await sink.idle()
    const bodies = received.filter((r) => r.path === '/support').map((r) => r.body)
    expect(bodies).toEqual([JSON.parse(JSON.stringify(teamMessage('support', [post])))])
    expect(bodies[0]!.text).toBe(
      '1 new post for support:\n• [negative] @ann: Why does the &lt;b&gt;battery&lt;/b&gt; die?',
    )
    expect(bodies[0]!.posts).toEqual([post])
  })
})
