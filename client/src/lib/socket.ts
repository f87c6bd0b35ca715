// The one socket module: typed by the server's event map (types only), `on()` returns an
// unsubscribe function. socket.io reconnects by itself after a drop (and connect() makes it after
// a server's own close too); the server sends a snapshot on every connect, which is how a wall
// resynchronises.
import { io, type Socket } from 'socket.io-client'
import type { ClientToServerEvents, ServerToClientEvents } from '../../../pipelines/schema.ts'

export type WallSocket = Socket<ServerToClientEvents, ClientToServerEvents>
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline'

export function connect(url: string = location.origin): WallSocket {
  const socket: WallSocket = io(url, { transports: ['websocket', 'polling'], reconnectionDelayMax: 5_000 })
  // socket.io gives up when the server itself closes the connection ("io server disconnect"), as a
  // server does when it stops or restarts. A wall must come back on its own: it keeps asking.
  // Waits grow up to five seconds (as socket.io's own do): a server that drops walls because its
  // store is down is not asked again every second by each of them.
  let wait = 1_000
  socket.on('connect', () => (wait = 1_000))
  socket.on('disconnect', (reason) => {
    if (reason !== 'io server disconnect') return
    setTimeout(() => socket.connect(), wait)
    wait = Math.min(wait * 2, 5_000)
  })
  return socket
}

export function on<E extends keyof ServerToClientEvents>(
  socket: WallSocket,
  event: E,
  handler: ServerToClientEvents[E],
): () => void {
  socket.on(event, handler as never)
  return () => void socket.off(event, handler as never)
}

/** Calls `handler` with the connection state now and whenever it changes. */
export function onConnection(socket: WallSocket, handler: (state: ConnectionState) => void): () => void {
  const live = () => handler('live')
  const lost = () => handler(socket.active ? 'reconnecting' : 'offline')
  const retrying = () => handler('reconnecting')
  socket.on('connect', live)
  socket.on('disconnect', lost)
  socket.on('connect_error', lost)
  socket.io.on('reconnect_attempt', retrying)
  handler(socket.connected ? 'live' : 'connecting')
  return () => {
    socket.off('connect', live)
    socket.off('disconnect', lost)
    socket.off('connect_error', lost)
    socket.io.off('reconnect_attempt', retrying)
  }
}
