// Outbound webhooks: alerts to one URL (Slack-compatible JSON: `text` and `blocks`, as Slack's
// incoming webhooks take them), and each team's routed posts to its own. One message in flight per URL, in order; a 5xx, a 429 (its Retry-After honoured) or a
// network error is retried with capped backoff (a Retry-After, in seconds or as a date, is honoured
// up to five minutes), other 4xx are not (the receiver refuses it). A
// message that cannot be delivered, or finds the queue full, is dead-lettered with why, never
// dropped silently; the pipeline never waits on a webhook.
import type { AlertChange } from '../metrics/alerting.ts'
import type { Live } from '../contract.ts'
import type { FeedName, FeedValues } from '../live-feeds.ts'
import type { Alert, ScoredPost } from '../schema.ts'
import type { DeadLetter } from './deadletter.ts'

export const WEBHOOK_TIMEOUT_MS = 10_000
export const WEBHOOK_RETRIES = 4
export const WEBHOOK_RETRY_BASE_MS = 1_000
export const WEBHOOK_RETRY_MAX_MS = 30_000
/** A receiver's Retry-After is honoured up to this long. */
export const WEBHOOK_RETRY_AFTER_MAX_MS = 5 * 60_000
/** Messages waiting per URL; past it new ones are dead-lettered (a receiver down for long). */
export const WEBHOOK_QUEUE_MAX = 1_000

export interface WebhookStats {
  sent: number
  failed: number
}

class Refused extends Error {}

/** One URL's messages, delivered one at a time in order. */
export class WebhookPoster {
  readonly stats: WebhookStats = { sent: 0, failed: 0 }
  /** Messages posted and not yet delivered or dead-lettered, oldest first. */
  private readonly waiting: object[] = []
  private chain: Promise<void> = Promise.resolve()
  private abandoned = false

  constructor(
    private readonly name: string,
    private readonly url: string,
    private readonly deadLetter: DeadLetter,
    private readonly options: { retryBaseMs?: number; timeoutMs?: number } = {},
  ) {}

  post(body: object): void {
    if (this.abandoned || this.waiting.length >= WEBHOOK_QUEUE_MAX) {
      this.fail(
        this.abandoned
          ? `${this.name}: stopping, not sent`
          : `${WEBHOOK_QUEUE_MAX} messages already wait for ${this.name}`,
        body,
      )
      return
    }
    this.waiting.push(body)
    this.chain = this.chain.then(async () => {
      if (this.waiting[0] !== body) return // abandoned meanwhile: already dead-lettered
      await this.deliver(body)
      if (this.waiting[0] === body) this.waiting.shift()
    })
  }

  /** At shutdown: what still waits is dead-lettered (with why), not lost. */
  abandon(): void {
    this.abandoned = true
    for (const body of this.waiting.splice(0)) this.fail(`${this.name}: not delivered before Undertow stopped`, body)
  }

  /** Settles when every message posted so far is delivered or dead-lettered. */
  idle(): Promise<void> {
    return this.chain
  }

  private async deliver(body: object): Promise<void> {
    const base = this.options.retryBaseMs ?? WEBHOOK_RETRY_BASE_MS
    for (let attempt = 0; ; attempt++) {
      let wait = Math.min(WEBHOOK_RETRY_MAX_MS, base * 2 ** attempt)
      try {
        const res = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? WEBHOOK_TIMEOUT_MS),
        })
        await res.arrayBuffer()
        if (res.ok) {
          this.stats.sent++
          return
        }
        if (res.status !== 429 && res.status < 500)
          throw new Refused(`${this.name} answered ${res.status} ${res.statusText}`)
        const retryAfter = retryAfterMs(res.headers.get('retry-after'))
        if (retryAfter !== null) wait = Math.min(WEBHOOK_RETRY_AFTER_MAX_MS, retryAfter)
        if (attempt >= WEBHOOK_RETRIES)
          throw new Error(`${this.name} answered ${res.status} ${res.statusText} ${attempt + 1} times`)
      } catch (error) {
        if (error instanceof Refused || attempt >= WEBHOOK_RETRIES) {
          this.fail(describe(this.name, error, attempt + 1), body)
          return
        }
      }
      if (this.abandoned) return
      await new Promise((r) => setTimeout(r, wait))
      if (this.abandoned) return
    }
  }

  private fail(reason: string, body: object): void {
    this.stats.failed++
    this.deadLetter.record('webhook', reason, body)
  }
}

/** Retry-After in seconds or as an HTTP date, in ms from now; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (!value) return null
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : null
  const at = Date.parse(value)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}

/** Why a delivery failed, in words: the receiver's answer, or the network's reason and how often. */
function describe(name: string, error: unknown, attempts: number): string {
  if (error instanceof Refused) return error.message
  if (!(error instanceof Error)) return `${name}: ${String(error)}`
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  const why = cause?.code ?? cause?.message ?? error.message
  return error.message.startsWith(name)
    ? error.message
    : `${name}: ${error.name === 'TimeoutError' ? 'no answer in time' : why} (${attempts} attempts)`
}

/** An alert as a chat message: the title, its why in a line or two, the rising terms. */
export function alertMessage(change: AlertChange): object {
  const a: Alert = change.alert
  const icon = a.state === 'resolved' ? '✅' : a.severity === 'critical' ? '🔴' : '🟠'
  const state =
    a.state === 'resolved'
      ? 'Resolved: '
      : change.acknowledged
        ? 'Acknowledged: '
        : change.kind === 'updated'
          ? 'Escalated: '
          : ''
  const text = `${icon} ${state}${a.title}`
  const lines = [a.why.summary, a.why.terms.length > 0 ? `Rising: ${a.why.terms.join(', ')}` : ''].filter(Boolean)
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${escapeMrkdwn(text)}*` } },
      { type: 'section', text: { type: 'mrkdwn', text: lines.map(escapeMrkdwn).join('\n') } },
    ],
    // Not Slack's: the alert itself, for receivers that want the data.
    alert: a,
  }
}

/** A team's routed posts: a line each in `text`, the posts themselves in `posts`. */
export function teamMessage(team: string, posts: readonly ScoredPost[]): object {
  const lines = posts
    .slice(0, 20)
    .map((p) =>
      escapeMrkdwn(
        `• [${p.sentiment?.label ?? `unscored · ${p.language || '?'}`}] @${p.author.handle}: ${p.text.slice(0, 200)}`,
      ),
    )
  const more = posts.length > 20 ? `\n… and ${posts.length - 20} more` : ''
  return {
    text: `${posts.length} new post${posts.length === 1 ? '' : 's'} for ${escapeMrkdwn(team)}:\n${lines.join('\n')}${more}`,
    team,
    posts,
  }
}

/** The live outputs that go to webhooks: alerts to one URL, each team's posts to its own. */
export class WebhookSink implements Live {
  constructor(
    private readonly alerts: WebhookPoster | undefined,
    private readonly teams: ReadonlyMap<string, WebhookPoster>,
  ) {}

  push<F extends FeedName>(feed: F, value: FeedValues[F]): void {
    if (feed === 'alert') this.alerts?.post(alertMessage(value as AlertChange))
    if (feed === 'teamPosts') {
      const { team, posts } = value as FeedValues['teamPosts']
      this.teams.get(team)?.post(teamMessage(team, posts))
    }
  }

  /** Messages sent and failed, per webhook. */
  stats(): Record<string, WebhookStats> {
    return Object.fromEntries([
      ...(this.alerts ? [['alerts', this.alerts.stats] as const] : []),
      ...[...this.teams].map(([team, p]) => [`team:${team}`, p.stats] as const),
    ])
  }

  /** Every message posted so far delivered or dead-lettered. */
  async idle(): Promise<void> {
    await Promise.all([this.alerts?.idle(), ...[...this.teams.values()].map((t) => t.idle())])
  }

  /** At shutdown: every message still waiting is dead-lettered. */
  abandon(): void {
    this.alerts?.abandon()
    for (const t of this.teams.values()) t.abandon()
  }
}

// Post text is untrusted: Slack's mrkdwn control characters are escaped, so a post cannot ping
// @channel or forge a link.
const escapeMrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
