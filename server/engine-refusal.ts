// engine.io's middlewares (io.engine.use) see socket.io's requests before socket.io does: over
// polling with a real response, on a WebSocket upgrade with engine.io's stand-in, which writes
// nothing. A refusal is written on whichever it is, in the API's error body; engine.io, told after,
// only closes the connection.
import { type IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'

/** A request as engine.io hands it to its middlewares: its query already parsed (engine.io's prepare()). */
export type EngineRequest = IncomingMessage & { _query?: Record<string, string> }
export type EngineResponse = ServerResponse | { socket: Duplex }
export type EngineMiddleware = (request: EngineRequest, response: EngineResponse, next: (error?: Error) => void) => void

/** Answers `status` with `body` (JSON) and `headers`, then tells engine.io `reason`. */
export function refuseEngineRequest(
  response: EngineResponse,
  status: number,
  body: unknown,
  next: (error?: Error) => void,
  reason: string,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  const all = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  }
  const refused = () => next(new Error(reason))
  if (response instanceof ServerResponse) {
    response.writeHead(status, all)
    response.end(text, refused)
  } else {
    const head = Object.entries(all).map(([k, v]) => `${k}: ${v}`)
    response.socket.end(
      [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, 'connection: close', ...head, '', text].join('\r\n'),
      refused,
    )
  }
}
