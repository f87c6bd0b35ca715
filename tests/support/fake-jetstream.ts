// A Jetstream that runs on loopback, speaking the public wire format of both versions
// (github.com/bluesky-social/jetstream): v1 `/subscribe` with `wantedCollections`, `wantedDids`
// and a `time_us` cursor (replay inclusive: time_us >= cursor), v2
// `/xrpc/network.bsky.jetstream.subscribeEvents` with `kinds`, `collections`, `dids` and a `seq`
// cursor (inclusive; values >= 1e15 are times), JSON frames {"$type": "message", "payload": ...}.
// Without a cursor a subscriber gets the live tail. Tests publish records, drop connections and
// send broken frames through it.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type WebSocket, WebSocketServer } from 'ws'

const V1_PATH = '/subscribe'
const V2_PATH = '/xrpc/network.bsky.jetstream.subscribeEvents'

interface Logged {
  seq: number
  timeUs: number
  did: string
  kind: 'commit' | 'identity' | 'account'
  commit?: {
    rev: string
    operation: 'create' | 'update' | 'delete'
    collection: string
    rkey: string
    record?: object
    cid?: string
  }
  identity?: { did: string; handle: string; seq: number; time: string }
  account?: { active: boolean; did: string; seq: number; time: string }
}

interface Subscriber {
  socket: WebSocket
  version: 1 | 2
  collections: string[]
  dids: string[]
  kinds: string[]
  query: URLSearchParams
}

const microsIso = (timeUs: number) =>
  `${new Date(Math.floor(timeUs / 1000)).toISOString().slice(0, 19)}.${String(timeUs % 1_000_000).padStart(6, '0')}Z`

export function render(event: Logged, version: 1 | 2): string {
  if (version === 1) {
    const { did, timeUs, kind, commit, identity, account } = event
    return JSON.stringify({
      did,
      time_us: timeUs,
      kind,
      ...(commit ? { commit } : {}),
      ...(identity ? { identity } : {}),
      ...(account ? { account } : {}),
    })
  }
  const base = { seq: event.seq, did: event.did, time: microsIso(event.timeUs), witnessedAt: microsIso(event.timeUs) }
  const payload =
    event.kind === 'commit'
      ? { $type: 'network.bsky.jetstream.subscribeEvents#commit', ...base, ...event.commit }
      : event.kind === 'identity'
        ? { $type: 'network.bsky.jetstream.subscribeEvents#identity', ...base, identity: event.identity }
        : { $type: 'network.bsky.jetstream.subscribeEvents#account', ...base, account: event.account }
  return JSON.stringify({ $type: 'message', payload })
}

export class FakeJetstream {
  readonly log: Logged[] = []
  readonly subscribers = new Set<Subscriber>()
  /** Every subscription's query string, in order: what cursors clients resumed from. */
  readonly queries: URLSearchParams[] = []
  private readonly http: Server = createServer((_req, res) => res.writeHead(404).end())
  private readonly wss = new WebSocketServer({ noServer: true })
  // Near the real clock, as Jetstream's is: retention and live windows judge times against it.
  private clockUs = Date.now() * 1000
  private nextRkey = 0
  /** While true, every subscription is refused (503), as an instance that is down. */
  refuse = false

  async start(): Promise<this> {
    this.http.on('upgrade', (req, socket, head) => {
      if (this.refuse) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n')
        return
      }
      const refusal = this.refusal(req)
      if (refusal) {
        socket.end(
          `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(refusal)}\r\n\r\n${refusal}`,
        )
        return
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req))
    })
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve))
    return this
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port
  }

  url(version: 1 | 2): string {
    return `ws://127.0.0.1:${this.port}${version === 1 ? V1_PATH : V2_PATH}`
  }

  async close(): Promise<void> {
    for (const s of this.subscribers) s.socket.terminate()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    this.http.closeAllConnections()
    await new Promise<void>((resolve) => this.http.close(() => resolve()))
  }

  /** A new record key, as the network mints them (TIDs; any unique key will do here). */
  rkey(): string {
    return `3l${(this.nextRkey++).toString(36).padStart(11, 'a')}`
  }

  post(did: string, text: string, extra: { rkey?: string; reply?: string; quote?: string } = {}): string {
    const rkey = extra.rkey ?? this.rkey()
    const ref = (uri: string) => ({ uri, cid: 'bafyreidc6sydkkbchcyg62v77wbhzvb2mvytlmsychqgwf2xojjtirmzj4' })
    const record = {
      $type: 'app.bsky.feed.post',
      text,
      createdAt: new Date().toISOString(),
      langs: ['en'],
      ...(extra.reply ? { reply: { root: ref(extra.reply), parent: ref(extra.reply) } } : {}),
      ...(extra.quote ? { embed: { $type: 'app.bsky.embed.record', record: ref(extra.quote) } } : {}),
    }
    this.commit(did, { operation: 'create', collection: 'app.bsky.feed.post', rkey, record })
    return `at://${did}/app.bsky.feed.post/${rkey}`
  }

  like(did: string, subject: string, collection = 'app.bsky.feed.like'): string {
    const rkey = this.rkey()
    const record = {
      $type: collection,
      createdAt: new Date().toISOString(),
      subject: { uri: subject, cid: 'bafyreidc6sydkkbchcyg62v77wbhzvb2mvytlmsychqgwf2xojjtirmzj4' },
    }
    this.commit(did, { operation: 'create', collection, rkey, record })
    return `at://${did}/${collection}/${rkey}`
  }

  deletePost(uri: string): void {
    const [, , did, collection, rkey] = uri.split('/')
    this.commit(did!, { operation: 'delete', collection: collection!, rkey: rkey! })
  }

  identity(did: string, handle: string): void {
    this.append({
      did,
      kind: 'identity',
      identity: { did, handle, seq: 1_409_752_997, time: new Date().toISOString() },
    })
  }

  account(did: string, active: boolean): void {
    this.append({ did, kind: 'account', account: { active, did, seq: 1_409_753_013, time: new Date().toISOString() } })
  }

  /** A frame as given, to every subscriber: for malformed input. */
  sendRaw(text: string): void {
    for (const s of this.subscribers) s.socket.send(text)
  }

  /** The server hangs up on everyone (a deploy, a network blip). */
  dropAll(): void {
    for (const s of this.subscribers) s.socket.terminate()
  }

  private commit(did: string, commit: Omit<NonNullable<Logged['commit']>, 'rev' | 'cid'>): void {
    const cid =
      commit.operation === 'delete' ? {} : { cid: 'bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi' }
    this.append({ did, kind: 'commit', commit: { rev: '3l3qo2vutsw2b', ...commit, ...cid } })
  }

  private append(event: Omit<Logged, 'seq' | 'timeUs'>): void {
    // Jetstream's own monotonic clock: every event a later time_us, and (v2) a later seq.
    this.clockUs += 1_000 + Math.floor(Math.random() * 1_000)
    const logged = { ...event, seq: this.log.length + 1, timeUs: this.clockUs } as Logged
    this.log.push(logged)
    for (const s of this.subscribers) this.deliver(s, logged)
  }

  private deliver(s: Subscriber, event: Logged): void {
    if (s.dids.length > 0 && !s.dids.includes(event.did)) return
    if (event.kind === 'commit') {
      if (s.collections.length > 0 && !s.collections.includes(event.commit!.collection)) return
    } else if (s.version === 2 && s.kinds.length > 0 && !s.kinds.includes(event.kind)) return
    if (s.socket.readyState === s.socket.OPEN) s.socket.send(render(event, s.version))
  }

  private refusal(req: IncomingMessage): string | undefined {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname !== V1_PATH && url.pathname !== V2_PATH) return `no such endpoint ${url.pathname}`
    const q = url.searchParams
    if (url.pathname === V2_PATH) {
      if (q.has('wantedCollections')) return 'InvalidRequest: wantedCollections is not a v2 parameter (use collections)'
      if (q.has('wantedDids')) return 'InvalidRequest: wantedDids is not a v2 parameter (use dids)'
    }
    const cursor = q.get('cursor')
    if (cursor !== null && !/^\d+$/.test(cursor)) return `invalid cursor: ${cursor}`
    return undefined
  }

  private accept(socket: WebSocket, req: IncomingMessage): void {
    const url = new URL(req.url ?? '/', 'http://x')
    const q = url.searchParams
    this.queries.push(q)
    const version = url.pathname === V1_PATH ? 1 : 2
    const s: Subscriber = {
      socket,
      version,
      collections: q.getAll(version === 1 ? 'wantedCollections' : 'collections'),
      dids: q.getAll(version === 1 ? 'wantedDids' : 'dids'),
      kinds: q.getAll('kinds'),
      query: q,
    }
    this.subscribers.add(s)
    socket.on('close', () => this.subscribers.delete(s))
    // v2 is server-push only: any client frame is a policy violation.
    socket.on('message', () => version === 2 && socket.close(1008, 'server-push only'))
    const cursor = q.get('cursor')
    if (cursor !== null) {
      const n = Number(cursor)
      const fromTime = version === 1 || n >= 1e15
      for (const e of this.log) if (fromTime ? e.timeUs >= n : e.seq >= n) this.deliver(s, e)
    }
  }
}
