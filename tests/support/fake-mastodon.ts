// A Mastodon instance on loopback, speaking the public API as documented (docs.joinmastodon.org):
// the streaming API over a WebSocket at /api/v1/streaming (`stream=public`, `public:local`,
// `hashtag` with `tag=`, `hashtag:local`), whose messages are {"stream": [...], "event": "update" |
// "status.update" | "delete", "payload": <a Status as a JSON string, or the deleted id>}; and the
// REST timelines /api/v1/timelines/public and /api/v1/timelines/tag/:hashtag with `max_id`,
// `since_id`, `min_id`, `limit` (default 20, at most 40) and `local`, newest first, with a Link
// header. Boosts are not in public or hashtag timelines, as on Mastodon. A token, when set, is
// required as `Authorization: Bearer`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type WebSocket, WebSocketServer } from 'ws'

export interface FakeStatus {
  id: string
  uri: string
  url: string
  created_at: string
  content: string
  spoiler_text: string
  visibility: 'public'
  language: string | null
  in_reply_to_id: string | null
  in_reply_to_account_id: string | null
  reblog: null
  replies_count: number
  reblogs_count: number
  favourites_count: number
  edited_at: string | null
  /** Mastodon 4.4+: a ShallowQuote when the status quotes another. */
  quote: { state: string; quoted_status_id: string } | null
  account: { id: string; username: string; acct: string; display_name: string; followers_count: number; url: string }
  mentions: { id: string; username: string; url: string; acct: string }[]
  tags: { name: string; url: string }[]
}

interface Subscriber {
  socket: WebSocket
  stream: string
  tag?: string
}

export class FakeMastodon {
  readonly statuses: FakeStatus[] = []
  readonly subscribers = new Set<Subscriber>()
  /** Every REST request's path and query: what a client backfilled from. */
  readonly requests: string[] = []
  private readonly http: Server
  private readonly wss = new WebSocketServer({ noServer: true })
  // Snowflake-like ids: time in the high bits, so they sort as numbers and exceed 2^53.
  private nextId = BigInt(Date.now()) << 16n
  private throttled = 0
  private throttleUntil = 0

  constructor(readonly token = '') {
    this.http = createServer((req, res) => this.rest(req, res))
  }

  async start(): Promise<this> {
    this.http.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x')
      // Mastodon writes a refused upgrade raw, with an empty body and the reason in a header.
      const refuse = (status: number, error: string) =>
        socket.end(
          `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Bad Request'}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nX-Error-Message: ${error}\r\n\r\n`,
        )
      if (url.pathname !== '/api/v1/streaming') return refuse(400, 'Unknown stream type')
      if (!this.authorised(req))
        return refuse(401, req.headers.authorization ? 'Invalid access token' : 'Missing access token')
      const stream = url.searchParams.get('stream') ?? ''
      if (!['public', 'public:local', 'hashtag', 'hashtag:local'].includes(stream))
        return refuse(400, 'Unknown stream type')
      if (stream.startsWith('hashtag') && !url.searchParams.get('tag')) return refuse(400, 'No tag for stream provided')
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const tag = url.searchParams.get('tag')?.toLowerCase()
        const s: Subscriber = { socket: ws, stream, ...(tag ? { tag } : {}) }
        this.subscribers.add(s)
        ws.on('close', () => this.subscribers.delete(s))
      })
    })
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve))
    return this
  }

  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`
  }

  get host(): string {
    return new URL(this.url).host
  }

  async close(): Promise<void> {
    for (const s of this.subscribers) s.socket.terminate()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    this.http.closeAllConnections()
    await new Promise<void>((resolve) => this.http.close(() => resolve()))
  }

  /** A new public status by `username` (a local account), tagged with each `#tag` in the text. */
  post(username: string, html: string, extra: { replyTo?: string; quoteOf?: string } = {}): FakeStatus {
    const id = String(this.nextId++)
    const tags = [...html.replace(/<[^>]*>/g, '').matchAll(/#(\w+)/g)].map((m) => ({
      name: m[1]!.toLowerCase(),
      url: `${this.url}/tags/${m[1]!.toLowerCase()}`,
    }))
    const parent = extra.replyTo ? this.statuses.find((s) => s.id === extra.replyTo) : undefined
    const status: FakeStatus = {
      id,
      uri: `${this.url}/users/${username}/statuses/${id}`,
      url: `${this.url}/@${username}/${id}`,
      created_at: new Date().toISOString(),
      content: `<p>${html}</p>`,
      spoiler_text: '',
      visibility: 'public',
      language: 'en',
      in_reply_to_id: parent?.id ?? null,
      in_reply_to_account_id: parent?.account.id ?? null,
      reblog: null,
      replies_count: 0,
      reblogs_count: 0,
      favourites_count: 0,
      edited_at: null,
      quote: extra.quoteOf ? { state: 'accepted', quoted_status_id: extra.quoteOf } : null,
      account: {
        id: String(username.length * 1000 + username.charCodeAt(0)),
        username,
        acct: username,
        display_name: username.toUpperCase(),
        followers_count: 42,
        url: `${this.url}/@${username}`,
      },
      mentions: [],
      tags,
    }
    if (parent) parent.replies_count++
    this.statuses.push(status)
    this.broadcast(status, 'update', JSON.stringify(status))
    return status
  }

  edit(id: string, html: string): void {
    const status = this.statuses.find((s) => s.id === id)!
    status.content = `<p>${html}</p>`
    status.edited_at = new Date().toISOString()
    this.broadcast(status, 'status.update', JSON.stringify(status))
  }

  delete(id: string): void {
    const i = this.statuses.findIndex((s) => s.id === id)
    const [status] = this.statuses.splice(i, 1)
    this.broadcast(status!, 'delete', id)
  }

  /** The next `n` timeline requests answer 429, with a reset `ms` from now. */
  throttle(n: number, ms: number): void {
    this.throttled = n
    this.throttleUntil = Date.now() + ms
  }

  sendRaw(text: string): void {
    for (const s of this.subscribers) s.socket.send(text)
  }

  dropAll(): void {
    for (const s of this.subscribers) s.socket.terminate()
  }

  private authorised(req: IncomingMessage): boolean {
    return this.token === '' || req.headers.authorization === `Bearer ${this.token}`
  }

  private matches(stream: string, tag: string | undefined, status: FakeStatus): boolean {
    if (stream.startsWith('hashtag')) return status.tags.some((t) => t.name === tag)
    return true // every account here is local
  }

  private broadcast(status: FakeStatus, event: string, payload: string): void {
    for (const s of this.subscribers) {
      if (!this.matches(s.stream, s.tag, status)) continue
      const stream = s.tag ? [s.stream, s.tag] : [s.stream]
      if (s.socket.readyState === s.socket.OPEN) s.socket.send(JSON.stringify({ stream, event, payload }))
    }
  }

  private rest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x')
    this.requests.push(`${url.pathname}${url.search}`)
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void =>
      void res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body))
    if (!this.authorised(req)) return json(401, { error: 'The access token is invalid' })
    if (this.throttled > 0 && url.pathname.startsWith('/api/v1/timelines')) {
      this.throttled--
      return json(
        429,
        { error: 'Too many requests' },
        {
          'X-RateLimit-Limit': '300',
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': new Date(this.throttleUntil).toISOString(),
        },
      )
    }
    if (url.pathname === '/api/v2/instance')
      return json(200, { domain: this.host, configuration: { urls: { streaming: this.url.replace(/^http/, 'ws') } } })
    const tag = /^\/api\/v1\/timelines\/tag\/([^/]+)$/.exec(url.pathname)?.[1]
    if (url.pathname !== '/api/v1/timelines/public' && tag === undefined)
      return json(404, { error: 'Record not found' })
    const q = url.searchParams
    const limit = Math.min(40, Math.max(1, Number(q.get('limit') ?? 20)))
    const id = (key: string) => (q.get(key) === null ? undefined : BigInt(q.get(key)!))
    const [maxId, sinceId, minId] = [id('max_id'), id('since_id'), id('min_id')]
    let list = this.statuses.filter((s) =>
      tag === undefined ? true : s.tags.some((t) => t.name === decodeURIComponent(tag).toLowerCase()),
    )
    list = list.filter(
      (s) =>
        (maxId === undefined || BigInt(s.id) < maxId) &&
        (sinceId === undefined || BigInt(s.id) > sinceId) &&
        (minId === undefined || BigInt(s.id) > minId),
    )
    list.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? 1 : -1))
    // min_id: the page immediately newer than it (the oldest of the rest); otherwise the newest.
    const page = minId !== undefined ? list.slice(-limit) : list.slice(0, limit)
    const links: Record<string, string> =
      page.length === 0
        ? {}
        : {
            Link: `<${this.url}${url.pathname}?max_id=${page.at(-1)!.id}>; rel="next", <${this.url}${url.pathname}?min_id=${page[0]!.id}>; rel="prev"`,
          }
    json(200, page, links)
  }
}
