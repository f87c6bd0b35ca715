// A WebSocket that stays connected: made again after any close with capped exponential backoff
// (a connection that delivered a frame starts the count again), pinged so that a silent dead
// connection is noticed, and gone without a trace (socket, timers, listeners) once closed. The
// live connectors (Jetstream, Mastodon) read their frames through it.
import WebSocket from 'ws'

export const BACKOFF = { initialMs: 1_000, maxMs: 30_000 }
/** A connection that answers no ping within this long is dead, and replaced. */
export const PING_MS = 30_000
/** A server that takes the connection but never answers the upgrade is given up on after this. */
export const HANDSHAKE_MS = 10_000

export interface SocketOptions {
  /** Asked before every connect: the URL carries the cursor to resume from. */
  url: () => string
  protocols?: string[]
  headers?: Record<string, string>
  maxPayload?: number
  pingMs?: number
  backoff?: { initialMs: number; maxMs: number }
  onOpen?: () => void
  /** Handles a frame; `false` says it was no sign of a healthy stream (a server error), so the backoff does not start again. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing is taken as healthy
  onFrame: (text: string) => boolean | void
  /** After each close, before the next connect is scheduled (save the cursor here). */
  onClose?: () => void
  onError?: (message: string) => void
}

export interface KeptSocket {
  /** Drops the current connection; the next one follows after the backoff. */
  reconnect(): void
  /** For good: no connection, timer or listener is left. */
  close(): void
}

export function keptSocket(options: SocketOptions): KeptSocket {
  const backoff = options.backoff ?? BACKOFF
  let failures = 0
  let stopped = false
  let socket: WebSocket | undefined
  let reconnect: NodeJS.Timeout | undefined
  let ping: NodeJS.Timeout | undefined

  const connect = () => {
    reconnect = undefined
    const ws = new WebSocket(options.url(), options.protocols ?? [], {
      maxPayload: options.maxPayload ?? 16 * 1024 * 1024,
      headers: options.headers ?? {},
      handshakeTimeout: HANDSHAKE_MS,
    })
    socket = ws
    let answered = true
    ws.on('open', () => {
      ping = setInterval(() => {
        if (!answered) return ws.terminate()
        answered = false
        ws.ping()
      }, options.pingMs ?? PING_MS)
      options.onOpen?.()
    })
    ws.on('pong', () => (answered = true))
    ws.on('message', (data: WebSocket.RawData) => {
      answered = true
      // biome-ignore lint/suspicious/noConfusingVoidType: what onFrame returns
      let healthy: boolean | void
      try {
        healthy = options.onFrame(data.toString())
      } catch (error) {
        healthy = undefined
        // The sources dead-letter what they cannot read; this is the net under them, so that no
        // frame escapes into the socket's listener and takes the process down.
        options.onError?.(`a frame could not be handled: ${(error as Error).message}`)
      }
      if (healthy !== false) failures = 0
    })
    // Refused upgrades ("Unexpected server response: 401") and network errors: a close follows,
    // and the backoff.
    ws.on('error', (error) => options.onError?.(error.message))
    ws.on('close', () => {
      clearInterval(ping)
      ping = undefined
      socket = undefined
      options.onClose?.()
      if (stopped) return
      const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** failures)
      failures++
      reconnect = setTimeout(connect, delay)
    })
  }

  connect()
  return {
    reconnect: () => socket?.terminate(),
    close() {
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
    },
  }
}
