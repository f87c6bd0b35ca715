// socket.io on Fastify's own HTTP server, decorated as `app.io` and closed with the app. Each wall
// that connects (or reconnects) gets a snapshot first; the live sink broadcasts deltas after it,
// and a clock ticks every second so a wall can tell a quiet stream from a stale connection.
import type { IncomingMessage } from 'node:http'
import { teamRoom } from '../../pipelines/live-feeds.ts'
import fp from 'fastify-plugin'
import { Server } from 'socket.io'
import type { ClientToServerEvents, Clock, ServerToClientEvents, Snapshot } from '../../pipelines/schema.ts'
import { EVENTS } from '../../pipelines/schema.ts'
import { type AccessTokens, type AccessRole, SESSION_COOKIE } from '../access.ts'
import { type AllowedHosts, engineHostGuard } from '../hosts.ts'
import { originAllowed, proxyTrust, requestOrigin, type TrustProxy } from '../origin.ts'
import { handshakeKey, handshakeLimit } from './handshake-limit.ts'

export type Io = Server<ClientToServerEvents, ServerToClientEvents>

export const CLOCK_MS = 1_000

declare module 'fastify' {
  interface FastifyInstance {
    io: Io
  }
}

/** The role of a handshake's token (AUTH_TOKENS), or undefined when it has none that is valid. */
export type Authorize = (handshake: {
  auth: Record<string, unknown>
  headers: { cookie?: string | undefined }
}) => AccessRole | undefined

/** Largest message a client may send: walls send none but the handshake's (the server only pushes). */
export const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024

/** An adapter that joins this server to others (socket.io's Redis adapter, with several web processes). */
export type SocketAdapter = NonNullable<ConstructorParameters<typeof Server>[1]>['adapter']

/**
 * `allowedOrigins`: other sites whose pages may open the stream (CORS_ORIGINS), lowercased;
 * `trustProxy`: whose X-Forwarded-* to believe (TRUST_PROXY, as Fastify's); `handshakeLimit`: new
 * connections a minute per client (RATE_LIMIT_PER_MINUTE, 0: none), told apart by their valid
 * session-cookie token, else their address; `allowedHosts`: the Host names answered (ALLOWED_HOSTS),
 * checked first, so that a refused request (a rebinding page's) counts against no one's limit.
 */
export const socketIoPlugin = fp<{
  snapshot: () => Promise<Snapshot>
  clock: () => Clock
  authorize: Authorize
  teams?: readonly string[]
  allowedOrigins?: readonly string[]
  adapter?: SocketAdapter
  trustProxy?: TrustProxy
  handshakeLimit?: { perMinute: number; tokens: AccessTokens }
  allowedHosts?: AllowedHosts
}>(
  async (
    app,
    {
      snapshot,
      clock,
      authorize,
      teams = [],
      allowedOrigins = [],
      adapter,
      trustProxy,
      handshakeLimit: limit,
      allowedHosts,
    },
  ) => {
    const trust = proxyTrust(trustProxy)
    // A wall reconnects on its own when the server drops it (client/src/lib/socket.ts); once the
    // server is stopping, its new connections are refused, or they would hold the close open.
    let closing = false
    // A page on another site must not read the live stream through a visitor's browser: a
    // browser's request names the page's origin, and it must be the host the browser used (behind
    // a trusted proxy, the one it forwards) or one allowed by CORS_ORIGINS (tools send none).
    const sameSite = (request: IncomingMessage) => {
      const { host, scheme } = requestOrigin(request, trust)
      return originAllowed(request.headers.origin, host, scheme, allowedOrigins)
    }
    const io: Io = new Server(app.server, {
      serveClient: false,
      ...(adapter ? { adapter } : {}),
      maxHttpBufferSize: MAX_CLIENT_MESSAGE_BYTES,
      allowRequest: (request, answer) =>
        closing
          ? answer('the server is stopping', false)
          : sameSite(request)
            ? answer(null, true)
            : answer('connections from another site are refused', false),
    })
    // socket.io's requests reach engine.io before Fastify's hooks: the same Host check (hosts.ts) here.
    if (allowedHosts) io.engine.use(engineHostGuard(allowedHosts))
    if (limit && limit.perMinute > 0) {
      const { tokens } = limit
      const tokenOf = (request: IncomingMessage) => {
        const token = tokens.enabled ? app.parseCookie(request.headers.cookie ?? '')[SESSION_COOKIE] : undefined
        return token && tokens.roleOf(token) ? token : undefined
      }
      io.engine.use(
        handshakeLimit(limit.perMinute, (request) =>
          handshakeKey(tokenOf(request), requestOrigin(request, trust).address),
        ),
      )
    }
    // With AUTH_TOKENS, a connection needs a token (auth.token, or the page's session cookie); every
    // role may watch, the stream being read-only.
    io.use((socket, next) =>
      authorize(socket.handshake)
        ? next()
        : next(
            Object.assign(new Error('unauthorized: the live stream needs an access token (AUTH_TOKENS)'), {
              data: { code: 'unauthorized' },
            }),
          ),
    )
    io.on('connection', (socket) => {
      // A team's feed: `?team=support` (or several, comma-separated) joins its room.
      const asked = [socket.handshake.query.team ?? []].flat().flatMap((t) => String(t).split(','))
      for (const team of asked) if (teams.includes(team)) void socket.join(teamRoom(team))
      snapshot().then(
        (s) => socket.emit(EVENTS.snapshot, s),
        (error: unknown) => {
          app.log.error({ err: error }, 'snapshot failed')
          socket.disconnect(true)
        },
      )
    })
    // Each server ticks its own walls' clocks (through an adapter, io.emit would reach every server's).
    const ticker = setInterval(() => io.local.emit(EVENTS.clock, clock()), CLOCK_MS)
    app.decorate('io', io)
    // Fastify closes its HTTP server before onClose, and that waits for open websockets: end
    // them first, or shutting down hangs while a wall is connected.
    app.addHook('preClose', async () => {
      closing = true
      clearInterval(ticker)
      io.local.disconnectSockets(true)
      io.engine.close()
    })
    app.addHook('onClose', async () => {
      await io.close()
    })
  },
  { name: 'socket.io' },
)
