// The webhook source: posts that any other system POSTs to /api/ingest (server/routes/ingest.ts),
// as one stream. The body is read here, a post at a time: JSON (one post, or an array of them) or
// NDJSON (one post per line). Good posts go on; each bad one is reported with where it was and
// why, so the sender can fix and resend just those.
import { type Observable, Subject } from 'rxjs'
import type { Post, SourceEvent } from '../schema.ts'
import { normaliseOne } from '../transforms/normalise.ts'

/** Most posts one request may carry. */
export const MAX_POSTS_PER_REQUEST = 10_000

export interface Rejection {
  /** 1-based: the line (NDJSON) or the array item (JSON). */
  line?: number
  item?: number
  reason: string
}

export type IngestBody = { ok: true; posts: Post[]; rejected: Rejection[]; raw: Map<Rejection, unknown> } | { ok: false; reason: string }

/** Reads a request body into posts and rejections; fails only when the body as a whole is unreadable. */
export function readIngestBody(body: string, format: 'json' | 'ndjson'): IngestBody {
  const posts: Post[] = []
  const rejected: Rejection[] = []
  const raw = new Map<Rejection, unknown>()
  const take = (value: unknown, where: { line: number } | { item: number }) => {
    const result = normaliseOne(value)
    if (result.ok) {
      posts.push(result.post)
      return
    }
    const rejection = { ...where, reason: result.reason }
    rejected.push(rejection)
    raw.set(rejection, value)
  }

  if (format === 'json') {
    let value: unknown
    try {
      value = JSON.parse(body)
    } catch (error) {
      return { ok: false, reason: `the body is not JSON: ${(error as Error).message}` }
    }
    const items = Array.isArray(value) ? value : [value]
    if (items.length > MAX_POSTS_PER_REQUEST) return { ok: false, reason: `${items.length} posts in one request; at most ${MAX_POSTS_PER_REQUEST}` }
    items.forEach((item, i) => take(item, { item: i + 1 }))
    return { ok: true, posts, rejected, raw }
  }

  const lines = body.split('\n')
  const nonEmpty = lines.filter((l) => l.trim() !== '').length
  if (nonEmpty > MAX_POSTS_PER_REQUEST) return { ok: false, reason: `${nonEmpty} posts in one request; at most ${MAX_POSTS_PER_REQUEST}` }
  lines.forEach((text, i) => {
    if (text.trim() === '') return
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      const rejection = { line: i + 1, reason: `not JSON: ${(error as Error).message}` }
      rejected.push(rejection)
      raw.set(rejection, text)
      return
    }
    take(value, { line: i + 1 })
  })
  return { ok: true, posts, rejected, raw }
}

/** The stream the route feeds. Closed at shutdown: later requests are refused, not lost. */
export class WebhookSource {
  private readonly subject = new Subject<SourceEvent>()
  private closed = false
  readonly events$: Observable<SourceEvent> = this.subject.asObservable()

  get open(): boolean {
    return !this.closed
  }

  push(posts: readonly Post[]): void {
    if (this.closed) throw new Error('the webhook source is closed')
    for (const post of posts) this.subject.next({ kind: 'post', post })
  }

  close(): void {
    this.closed = true
    this.subject.complete()
  }
}
