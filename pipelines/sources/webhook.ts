// The webhook source: posts that any other system POSTs to /api/ingest (server/routes/ingest.ts),
// as one stream. The body is read here, a post at a time: JSON (one post, or an array of them) or
// NDJSON (one post per line). Good posts go on; each bad one is reported with where it was and
// why, so the sender can fix and resend just those.
import { Observable, Subject } from 'rxjs'
import type { Post, SourceEvent } from '../schema.ts'
import type { Journal } from '../sinks/journal.ts'
import { normaliseOne } from '../transforms/normalise.ts'

/** Most posts one request may carry. */
export const MAX_POSTS_PER_REQUEST = 10_000

export interface Rejection {
  /** 1-based: the line (NDJSON) or the array item (JSON). */
  line?: number
  item?: number
  reason: string
}

export type IngestBody =
  | { ok: true; posts: Post[]; rejected: Rejection[]; raw: Map<Rejection, unknown> }
  | { ok: false; reason: string }

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
    if (items.length > MAX_POSTS_PER_REQUEST)
      return { ok: false, reason: `${items.length} posts in one request; at most ${MAX_POSTS_PER_REQUEST}` }
    items.forEach((item, i) => take(item, { item: i + 1 }))
    return { ok: true, posts, rejected, raw }
  }

  const lines = body.split('\n')
  const nonEmpty = lines.filter((l) => l.trim() !== '').length
  if (nonEmpty > MAX_POSTS_PER_REQUEST)
    return { ok: false, reason: `${nonEmpty} posts in one request; at most ${MAX_POSTS_PER_REQUEST}` }
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

/**
 * The stream the route feeds. With the intake journal, posts are appended to it and `push`
 * resolves once they are on disk (the route answers 202 only then); the pipeline reads them from
 * the journal. Without one, they go on in memory, once the pipeline reads the stream. Closed at
 * shutdown: later requests are refused, not lost.
 */
export class WebhookSource {
  private readonly subject = new Subject<SourceEvent>()
  private closed = false
  private readers = 0
  readonly events$: Observable<SourceEvent> = new Observable<SourceEvent>((subscriber) => {
    this.readers++
    const inner = this.subject.subscribe(subscriber)
    return () => {
      this.readers--
      inner.unsubscribe()
    }
  })

  constructor(private readonly journal?: Journal) {}

  /** Whether posts are taken now: not once closed, nor (in memory only) before the pipeline reads them. */
  get open(): boolean {
    return !this.closed && (this.journal !== undefined || this.readers > 0)
  }

  /** Resolves once the posts are as safe as this source makes them: on disk with a journal; rejects with why when they are not. */
  push(posts: readonly Post[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the webhook source is closed'))
    const events = posts.map((post): SourceEvent => ({ kind: 'post', post }))
    if (!this.journal) {
      for (const event of events) this.subject.next(event)
      return Promise.resolve()
    }
    const appended = this.journal.append(events)
    return appended.ok ? this.journal.durable() : Promise.reject(new Error(appended.reason))
  }

  close(): void {
    this.closed = true
    this.subject.complete()
  }
}
