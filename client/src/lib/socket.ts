// The one socket module: typed by the server's event map (types only), `on()` returns an
// unsubscribe function. socket.io reconnects by itself; the server sends a snapshot on every
// connect, which is how a wall resynchronises after a drop.
import { io, type Socket } from 'socket.io-client'
import type { ClientToServerEvents, ServerToClientEvents } from '../../../pipelines/schema.ts'

export type WallSocket = Socket<ServerToClientEvents, ClientToServerEvents>
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline'

export function connect(url: string = location.origin): WallSocket {
  return io(url, { transports: ['websocket', 'polling'], reconnectionDelayMax: 5_000 })
}

export function on<E extends keyof ServerToClientEvents>(socket: WallSocket, event: E, handler: ServerToClientEvents[E]): () => void {
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
