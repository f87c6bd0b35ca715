// The Bluesky source: Jetstream over a WebSocket, v1 (`/subscribe`) or v2 (`/xrpc/network.bsky.
// jetstream.subscribeEvents`). Posts, likes, reposts, replies, quotes and deletes of posts arrive
// as Undertow events (jetstream/parse.ts). The place in the stream is saved to disk as it moves, so
// a dropped connection or a restart resumes from there: v1 rewinds a few seconds (its cursor is a
// time, and Jetstream asks clients to overlap), v2 resumes from the exact sequence number, and what
// comes twice is dropped by record URI. A dropped connection is retried with capped exponential
// backoff; a malformed frame is dead-lettered and the stream goes on.
import { Observable } from 'rxjs'
import WebSocket from 'ws'
import type { SourceEvent } from '../schema.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'
import { RecentKeys } from '../sinks/recent-keys.ts'
import type { CursorFile } from './cursor-file.ts'
import { COLLECTIONS, type Frame, type JetstreamEvent, parseV1, parseV2, readEvent } from './jetstream/parse.ts'

export const JETSTREAM_V1_URL = 'wss://jetstream2.us-east.bsky.network/subscribe'
export const JETSTREAM_V2_PATH = '/xrpc/network.bsky.jetstream.subscribeEvents'
/** v1 resumes this far before its saved cursor: Jetstream's advice, as its cursor is a time. */
export const OVERLAP_MS = 5_000
/** Record URIs remembered to drop what an overlap sends again. */
export const DEDUPE_CAPACITY = 100_000
/** DIDs whose handles identity events told, newest kept. */
export const HANDLES_CAPACITY = 100_000
/** Events bigger than this are skipped by Jetstream itself (`maxMessageSizeBytes`). */
export const MAX_MESSAGE_BYTES = 1_000_000
export const BACKOFF = { initialMs: 1_000, maxMs: 30_000 }
/** A connection that answers no ping within this long is dead, and replaced. */
export const PING_MS = 30_000
/** The cursor is saved at most this often while events flow, and once more at the end. */
export const SAVE_EVERY_MS = 1_000

/**
 * Where the stream was: Jetstream's time of the last event read and, on v2, its sequence number.
 * A clean stop also keeps the keys of the events read in the last overlap, so what the rewind
 * sends again after a restart is dropped here too (after a crash the store drops it).
 */
export interface JetstreamCursor {
  timeUs: number
  seq?: number
  /** The time of the first event read: a rewind never goes before where the stream began. */
  firstUs?: number
  recent?: string[]
}
export const isCursor = (v: unknown): v is JetstreamCursor => {
  const c = v as JetstreamCursor
  return (
    typeof v === 'object' &&
    v !== null &&
    Number.isSafeInteger(c.timeUs) &&
    (c.seq === undefined || Number.isSafeInteger(c.seq)) &&
    (c.firstUs === undefined || Number.isSafeInteger(c.firstUs)) &&
    (c.recent === undefined || (Array.isArray(c.recent) && c.recent.every((k) => typeof k === 'string')))
  )
}

export interface JetstreamStats {
  connects: number
  frames: number
  events: number
  duplicates: number
  malformed: number
  /** v2 error frames (the server ending the stream) and socket errors. */
  serverErrors: number
  lastError?: string
}

export interface JetstreamOptions {
  /** The endpoint, path included: `wss://host/subscribe` (v1) or `wss://host${JETSTREAM_V2_PATH}` (v2). */
  url: string
  version: 1 | 2
  deadLetter: DeadLetter
  /** Only these accounts' events (`wantedDids` / `dids`); all when empty. */
  dids?: readonly string[]
  cursorFile?: CursorFile<JetstreamCursor>
  overlapMs?: number
  backoff?: { initialMs: number; maxMs: number }
  pingMs?: number
  stats?: JetstreamStats
}

export const newJetstreamStats = (): JetstreamStats => ({ connects: 0, frames: 0, events: 0, duplicates: 0, malformed: 0, serverErrors: 0 })

/** The subscription URL for a cursor, with the filters each version names its own way. */
export function subscribeUrl(options: Pick<JetstreamOptions, 'url' | 'version' | 'dids' | 'overlapMs'>, cursor: JetstreamCursor | undefined): string {
  const url = new URL(options.url)
  const add = (key: string, values: readonly string[]) => values.forEach((v) => url.searchParams.append(key, v))
  if (options.version === 1) {
    add('wantedCollections', COLLECTIONS)
    add('wantedDids', options.dids ?? [])
  } else {
    add('kinds', ['commit', 'identity'])
    add('collections', COLLECTIONS)
    add('dids', options.dids ?? [])
  }
  url.searchParams.set('maxMessageSizeBytes', String(MAX_MESSAGE_BYTES))
  if (cursor) {
    // v2 replays from its sequence number inclusive (the repeat is dropped by seq); a time cursor
    // (v1, or v2 without a seq yet) goes back by the overlap. v2 reads values >= 1e15 as times.
    const rewound = Math.max(1, cursor.firstUs ?? 1, cursor.timeUs - (options.overlapMs ?? OVERLAP_MS) * 1000)
    url.searchParams.set('cursor', String(options.version === 2 && cursor.seq !== undefined ? cursor.seq : rewound))
  }
  return url.toString()
}

const keyOf = (e: SourceEvent) => (e.kind === 'post' ? e.post.id : e.kind === 'engagement' ? e.update.id : `delete:${e.postId}`)

export function jetstreamSource(options: JetstreamOptions): Observable<SourceEvent> {
  const stats = options.stats ?? newJetstreamStats()
  const backoff = options.backoff ?? BACKOFF
  const parse: (text: string) => Frame = options.version === 1 ? parseV1 : parseV2
  return new Observable<SourceEvent>((subscriber) => {
    const saved = options.cursorFile?.load(isCursor)
    let cursor: JetstreamCursor | undefined = saved && { timeUs: saved.timeUs, firstUs: saved.firstUs ?? saved.timeUs, ...(saved.seq !== undefined ? { seq: saved.seq } : {}) }
    const overlapUs = (options.overlapMs ?? OVERLAP_MS) * 1000
    let savedAt = 0
    let failures = 0
    let stopped = false
    let socket: WebSocket | undefined
    let reconnect: NodeJS.Timeout | undefined
    let ping: NodeJS.Timeout | undefined
    const seen = new RecentKeys(DEDUPE_CAPACITY)
    for (const key of saved?.recent ?? []) seen.add(key)
    // The keys read within the overlap, oldest first: what a rewind after a stop would send again.
    const overlap: { key: string; timeUs: number }[] = []
    const handles = new Map<string, string>()

    const save = (final: boolean) => {
      if (!options.cursorFile || !cursor) return
      const now = Date.now()
      if (!final && now - savedAt < SAVE_EVERY_MS) return
      savedAt = now
      try {
        options.cursorFile.save(final ? { ...cursor, recent: overlap.map((o) => o.key) } : cursor)
      } catch (error) {
        // A cursor that cannot be saved costs a longer replay after a restart, not the stream.
        stats.lastError = `cannot save the cursor: ${(error as Error).message}`
      }
    }

    const take = (event: JetstreamEvent) => {
      // v2 resumes inclusive of the saved sequence number: what is not past it was read already.
      if (event.seq !== undefined && cursor?.seq !== undefined && event.seq <= cursor.seq) return
      if (event.handle) {
        handles.delete(event.did)
        handles.set(event.did, event.handle)
        if (handles.size > HANDLES_CAPACITY) handles.delete(handles.keys().next().value!)
      }
      const reading = readEvent(event, (did) => handles.get(did))
      if ('error' in reading) {
        stats.malformed++
        options.deadLetter.record('jetstream', reading.error, event)
      } else {
        for (const e of reading.events) {
          const key = keyOf(e)
          if (seen.has(key)) {
            stats.duplicates++
            continue
          }
          seen.add(key)
          overlap.push({ key, timeUs: event.timeUs })
          stats.events++
          subscriber.next(e)
        }
      }
      // A rewound v1 stream replays older times first: the cursor never moves back.
      cursor = {
        timeUs: Math.max(event.timeUs, cursor?.timeUs ?? 0),
        firstUs: cursor?.firstUs ?? event.timeUs,
        ...(event.seq !== undefined ? { seq: Math.max(event.seq, cursor?.seq ?? 0) } : {}),
      }
      while (overlap.length > 0 && overlap[0]!.timeUs < cursor.timeUs - overlapUs) overlap.shift()
      save(false)
    }

    const onFrame = (text: string) => {
      stats.frames++
      const frame = parse(text)
      if (frame.ok) {
        if (frame.event) take(frame.event)
        return
      }
      if (frame.fatal) {
        // v2 ends the stream with an error frame (ConsumerTooSlow): resume from the cursor.
        stats.serverErrors++
        stats.lastError = frame.reason
        socket?.close()
        return
      }
      stats.malformed++
      options.deadLetter.record('jetstream', frame.reason, text.length > 65_536 ? `${text.slice(0, 65_536)}…` : text)
    }

    const connect = () => {
      reconnect = undefined
      const ws = new WebSocket(subscribeUrl(options, cursor), options.version === 2 ? ['xrpc.v1.json'] : [], { maxPayload: 4 * MAX_MESSAGE_BYTES })
      socket = ws
      let answered = true
      ws.on('open', () => {
        stats.connects++
        ping = setInterval(() => {
          if (!answered) return ws.terminate()
          answered = false
          ws.ping()
        }, options.pingMs ?? PING_MS)
      })
      ws.on('pong', () => (answered = true))
      ws.on('message', (data: WebSocket.RawData) => {
        answered = true
        failures = 0
        onFrame(data.toString())
      })
      ws.on('error', (error) => {
        stats.serverErrors++
        stats.lastError = error.message
      })
      ws.on('close', () => {
        clearInterval(ping)
        ping = undefined
        socket = undefined
        save(true)
        if (stopped) return
        // Capped exponential backoff; a connection that delivered a frame starts the count again.
        const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** failures)
        failures++
        reconnect = setTimeout(connect, delay)
      })
    }

    connect()
    return () => {
      stopped = true
      clearTimeout(reconnect)
      clearInterval(ping)
      if (socket) {
        socket.removeAllListeners()
        // terminate() may still report a failed handshake: nobody is listening any more.
        socket.on('error', () => {})
        socket.terminate()
        socket = undefined
      }
      save(true)
    }
  })
}
