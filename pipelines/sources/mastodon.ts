// The Mastodon source: one instance's streaming API over a WebSocket (`public`, `public:local` or a
// hashtag), with the REST timeline filling any gap. Every (re)connect first opens the stream, then
// pages the timeline forward from the newest status read before (`min_id`), so nothing posted
// while the connection was down (or Undertow was stopped) is missed; what both deliver is passed on
// once. The newest status id is saved to disk, but only as far as the gap is filled: a crash in
// the middle of a backfill resumes it.
import { Observable } from 'rxjs'
import type { SourceEvent } from '../schema.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'
import { RecentKeys } from '../sinks/recent-keys.ts'
import type { CursorFile } from './cursor-file.ts'
import { httpClient } from './http.ts'
import { checkStatus, eventsOf, newerId, readStreamMessage, type Status } from './mastodon/parse.ts'
import { passOnce } from './once.ts'
import { keptSocket } from './socket.ts'

/** Statuses per REST page: the API's maximum. */
export const PAGE_LIMIT = 40
/** At most this many pages per gap (16,000 statuses); older ones are left to the timeline. */
export const MAX_BACKFILL_PAGES = 400
export const DEDUPE_CAPACITY = 100_000
export const SAVE_EVERY_MS = 1_000

export interface MastodonCursor {
  /** The newest status read with everything before it read too. */
  newestId: string
}
export const isMastodonCursor = (v: unknown): v is MastodonCursor => typeof v === 'object' && v !== null && typeof (v as MastodonCursor).newestId === 'string' && /^\d{1,30}$/.test((v as MastodonCursor).newestId)

/** `public`, `public:local`, `hashtag:<tag>` or `hashtag:local:<tag>`. */
export type MastodonStream = string

export interface MastodonStats {
  connects: number
  frames: number
  events: number
  duplicates: number
  malformed: number
  backfilled: number
  errors: number
  lastError?: string
}
export const newMastodonStats = (): MastodonStats => ({ connects: 0, frames: 0, events: 0, duplicates: 0, malformed: 0, backfilled: 0, errors: 0 })

export interface MastodonOptions {
  /** The instance, e.g. https://mastodon.social. */
  url: string
  token?: string
  stream: MastodonStream
  deadLetter: DeadLetter
  cursorFile?: CursorFile<MastodonCursor>
  backoff?: { initialMs: number; maxMs: number }
  pingMs?: number
  stats?: MastodonStats
}

/** The stream's query and the matching timeline path, from the configured stream name. */
export function streamParts(stream: MastodonStream): { query: Record<string, string>; timeline: string; local: boolean } {
  const hashtag = /^hashtag:(?:(local):)?([\p{L}\p{N}_]+)$/u.exec(stream)
  if (hashtag) {
    const local = hashtag[1] === 'local'
    return { query: { stream: local ? 'hashtag:local' : 'hashtag', tag: hashtag[2]! }, timeline: `/api/v1/timelines/tag/${encodeURIComponent(hashtag[2]!)}`, local }
  }
  if (stream === 'public' || stream === 'public:local') return { query: { stream }, timeline: '/api/v1/timelines/public', local: stream === 'public:local' }
  throw new Error(`MASTODON_STREAM "${stream}": expected public, public:local, hashtag:<tag> or hashtag:local:<tag>`)
}


export function mastodonSource(options: MastodonOptions): Observable<SourceEvent> {
  const stats = options.stats ?? newMastodonStats()
  const base = new URL(options.url)
  const host = base.host
  const parts = streamParts(options.stream)
  const auth: Record<string, string> = options.token ? { Authorization: `Bearer ${options.token}` } : {}
  return new Observable<SourceEvent>((subscriber) => {
    // `saved`: what is on disk, everything up to it read. `newest`: the newest status seen at all.
    let saved = options.cursorFile?.load(isMastodonCursor)?.newestId
    let newest = saved
    /** The connection whose backfill is running (0: none). */
    let backfilling = 0
    let stopped = false
    // Counts connections and closes: a backfill belongs to the connection it started on.
    let connections = 0
    let savedAt = 0
    const http = httpClient()
    const seen = new RecentKeys(DEDUPE_CAPACITY)

    const save = (force: boolean) => {
      if (!options.cursorFile || saved === undefined) return
      const now = Date.now()
      if (!force && now - savedAt < SAVE_EVERY_MS) return
      savedAt = now
      try {
        options.cursorFile.save({ newestId: saved })
      } catch (error) {
        stats.lastError = `cannot save the cursor: ${(error as Error).message}`
      }
    }

    const pass = (events: SourceEvent[]) => passOnce(events, seen, (e) => subscriber.next(e), stats)

    const onFrame = (text: string) => {
      stats.frames++
      const reading = readStreamMessage(text, host, new Date())
      if (!reading.ok && reading.serverError) {
        stats.errors++
        stats.lastError = reading.reason
        return
      }
      if (!reading.ok) {
        stats.malformed++
        options.deadLetter.record('mastodon', reading.reason, text.length > 65_536 ? `${text.slice(0, 65_536)}…` : text)
        return
      }
      pass(reading.events)
      newest = newerId(newest, reading.newestId)
      // While a gap is being filled, the stream is ahead of what is read without holes.
      if (!backfilling && newest !== undefined) {
        saved = newest
        save(false)
      }
    }

    /** Pages the timeline forward from the saved id until it is caught up. */
    const backfill = async (connection: number) => {
      if (saved === undefined) return
      backfilling = connection
      try {
        for (let page = 0; page < MAX_BACKFILL_PAGES; page++) {
          const url = new URL(parts.timeline, base)
          url.searchParams.set('min_id', saved)
          url.searchParams.set('limit', String(PAGE_LIMIT))
          if (parts.local) url.searchParams.set('local', 'true')
          const body: unknown = JSON.parse(await http.text(url, auth))
          if (!Array.isArray(body)) throw new Error(`${url.pathname} answered something other than a list of statuses`)
          // Newest first: read oldest first, so the saved id only ever moves over read statuses.
          let pageNewest: string | undefined
          for (const item of [...body].reverse()) {
            const status = checkStatus(item, 'timeline status')
            if (typeof status === 'string') {
              stats.malformed++
              options.deadLetter.record('mastodon', status, item)
              continue
            }
            stats.backfilled++
            pass(eventsOf(status as Status, host))
            pageNewest = newerId(pageNewest, status.id)
          }
          // The connection dropped meanwhile: the next one fills the gap from here.
          if (connection !== connections) return
          if (pageNewest === undefined || BigInt(pageNewest) <= BigInt(saved)) break
          saved = pageNewest
          save(false)
          if (body.length < PAGE_LIMIT) break
        }
        newest = newerId(newest, saved)
        saved = newest
        save(true)
      } finally {
        if (backfilling === connection) backfilling = 0
      }
    }

    const socket = keptSocket({
      url: () => {
        const url = new URL('/api/v1/streaming', base)
        url.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:'
        for (const [k, v] of Object.entries(parts.query)) url.searchParams.set(k, v)
        return url.toString()
      },
      headers: auth,
      ...(options.pingMs ? { pingMs: options.pingMs } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      onOpen: () => {
        stats.connects++
        const connection = ++connections
        backfill(connection).catch((error: unknown) => {
          if (stopped || connection !== connections) return
          // A gap that cannot be filled now is filled after the next connect.
          stats.errors++
          stats.lastError = `backfill: ${(error as Error).message}`
          socket.reconnect()
        })
      },
      onFrame,
      onClose: () => {
        connections++
        save(true)
      },
      onError: (message) => {
        stats.errors++
        stats.lastError = message
      },
    })
    return () => {
      stopped = true
      http.close()
      socket.close()
      save(true)
    }
  })
}
