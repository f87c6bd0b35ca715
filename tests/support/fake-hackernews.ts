// The Hacker News API v0 on loopback, as its README documents it (github.com/HackerNews/API):
// `/v0/maxitem.json` (a bare integer), `/v0/item/<id>.json` (the item, fields that do not apply left
// out, `null` for an id it does not have), `/v0/updates.json` ({"items": [...], "profiles": [...]}).
// Tests add stories and comments, vote, delete, make the API fail for a while, or serve a broken item.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

type Item = Record<string, unknown> & { id: number; type: string }

export class FakeHackerNews {
  readonly items = new Map<number, Item>()
  /** Items whose next fetch answers this body instead (a broken item). */
  readonly broken = new Map<number, string>()
  requests = 0
  /** When the last request came: a client that stopped polling stops asking. */
  lastRequestAt = 0
  private maxId = 40_000_000
  private updated: number[] = []
  private failing = 0
  private readonly http: Server = createServer((req, res) => {
    this.requests++
    this.lastRequestAt = Date.now()
    const send = (status: number, body: string) =>
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(body)
    if (this.failing > 0) {
      this.failing--
      return send(503, JSON.stringify({ error: 'Service Unavailable' }))
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path === '/v0/maxitem.json') return send(200, String(this.maxId))
    if (path === '/v0/updates.json') return send(200, JSON.stringify({ items: this.updated, profiles: [] }))
    const id = /^\/v0\/item\/(\d+)\.json$/.exec(path)?.[1]
    if (id !== undefined) {
      const broken = this.broken.get(Number(id))
      if (broken !== undefined) return send(200, broken)
      return send(200, JSON.stringify(this.items.get(Number(id)) ?? null))
    }
    send(404, JSON.stringify({ error: 'Permission denied' }))
  })

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve))
    return this
  }

  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}/v0`
  }

  async close(): Promise<void> {
    this.http.closeAllConnections()
    await new Promise<void>((resolve) => this.http.close(() => resolve()))
  }

  private add(item: Omit<Item, 'id'>): number {
    const id = ++this.maxId
    this.items.set(id, { id, time: Math.floor(Date.now() / 1000), ...item } as unknown as Item)
    return id
  }

  story(by: string, title: string, extra: { url?: string; text?: string } = {}): number {
    return this.add({ by, type: 'story', title, score: 1, descendants: 0, ...extra })
  }

  comment(by: string, parent: number, text: string): number {
    const id = this.add({ by, type: 'comment', parent, text })
    const p = this.items.get(parent)
    if (p) p.kids = [...((p.kids as number[] | undefined) ?? []), id]
    // `descendants`: every comment under a story, however deep.
    for (let up = p; up; up = this.items.get(up.parent as number))
      if (up.type === 'story') up.descendants = (up.descendants as number) + 1
    return id
  }

  /** An id taken whose item is not readable yet (still propagating): `null` until `reveal`. */
  pending(): number {
    return ++this.maxId
  }

  reveal(id: number, item: Omit<Item, 'id'>): void {
    this.items.set(id, { id, time: Math.floor(Date.now() / 1000), ...item } as unknown as Item)
  }

  vote(id: number, points: number): void {
    const item = this.items.get(id)!
    item.score = (item.score as number) + points
    this.updated = [id, ...this.updated].slice(0, 100)
  }

  delete(id: number): void {
    const item = this.items.get(id)!
    // A deleted item keeps its id, type and time; its author and text are gone.
    this.items.set(id, { id, type: item.type, time: item.time, deleted: true })
    this.updated = [id, ...this.updated].slice(0, 100)
  }

  /** The next `n` requests answer 503. */
  fail(n: number): void {
    this.failing = n
  }
}
