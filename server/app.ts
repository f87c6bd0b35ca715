// buildServer: the whole HTTP and socket.io app, assembled from plugins. It never listens:
// main.ts does, and tests use app.inject() or listen on a loopback port themselves.
import cors from '@fastify/cors'
import type { LiveView } from '../pipelines/sinks/live-memory.ts'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import Fastify, { type FastifyRequest, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { TrackedBrand } from '../pipelines/schema.ts'
import type { Store } from '../pipelines/store/store.ts'
import { accessPlugin, AccessTokens, callerKey, handshakeRole, routeOf } from './access.ts'
import { installErrorHandlers } from './errors.ts'
import { AllowedHosts, hostGuard } from './hosts.ts'
import { RequestLogs } from './logging.ts'
import { clientPlugin } from './plugins/client.ts'
import { type SocketAdapter, socketIoPlugin } from './plugins/socketio.ts'
import { aggregateRoutes } from './routes/aggregates.ts'
import { type AlertActions, alertRoutes } from './routes/alerts.ts'
import { healthRoutes, type HealthInfo } from './routes/health.ts'
import { type IngestOptions, ingestRoutes } from './routes/ingest.ts'
import { metricsRoutes } from './routes/metrics.ts'
import { observabilityRoutes, type Telemetry } from './routes/observability.ts'
import { postRoutes } from './routes/posts.ts'
import { responsivenessRoutes } from './routes/responsiveness.ts'
import { teamRoutes } from './routes/teams.ts'
import { DEFAULT_ROUTES, type Routes, teamsOf } from '../pipelines/transforms/route.ts'
import { buildSnapshot } from './snapshot.ts'

export interface ServerOptions {
  store: Store
  view: LiveView
  tracking: readonly TrackedBrand[]
  health: HealthInfo
  logger?: FastifyServerOptions['logger']
  /** Folder of the built client; defaults to client/dist. */
  clientRoot?: string
  /** Which team each intent goes to (default DEFAULT_ROUTES). */
  routes?: Routes
  /** Other sites' origins whose pages may call the API and open the live stream (CORS_ORIGINS). */
  corsOrigins?: readonly string[]
  /** The webhook (POST /api/ingest), when the webhook source runs. */
  ingest?: IngestOptions
  /** Behind a reverse proxy (TRUST_PROXY): which proxies' X-Forwarded-* headers to believe (default: none). */
  trustProxy?: boolean | string | ((address: string, hop: number) => boolean)
  /** Access tokens (AUTH_TOKENS); without any, the API and the stream are open. */
  access?: AccessTokens
  /** Requests a minute per client, for the API and the page, and for the webhook; 0: no limit (default: none). */
  rateLimits?: { perMinute: number; ingestPerMinute: number }
  /** The metrics fed as things happen (the classifier's latency); default: a registry of its own. */
  telemetry?: Telemetry
  /** What acknowledges alerts (the running pipeline); without it POST /api/alerts/:id/acknowledge answers 503. */
  alerts?: AlertActions
  /** Joins socket.io to other processes' (the Redis adapter): live pushes reach walls on every web process. */
  socketAdapter?: SocketAdapter
  /** Whether this process serves the API and the wall's page (the `web` role); without, only the probes, /metrics and the webhook (default true). */
  web?: boolean
  /** The Host names answered (ALLOWED_HOSTS, server/hosts.ts); default: loopback names and IP literals only. */
  allowedHosts?: AllowedHosts
}

/** HSTS over https: helmet's default (a year, subdomains included). */
const HSTS = 'max-age=31536000; includeSubDomains'

export async function buildServer(options: ServerOptions) {
  const { store, view, tracking, routes = DEFAULT_ROUTES } = options
  // Requests are logged at debug (server/logging.ts).
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new RequestLogs(),
    trustProxy: options.trustProxy ?? false,
  }).withTypeProvider<TypeBoxTypeProvider>()
  installErrorHandlers(app)
  // Security headers (helmet's defaults): a content security policy that lets the page run only
  // its own scripts (post text can never become one), no framing by other sites, no MIME sniffing.
  // Over plain http without HSTS nor upgrade-insecure-requests: a browser would fetch the scripts
  // and the socket over https from a server that has none, and show a blank wall (on a LAN).
  await app.register(helmet, {
    strictTransportSecurity: false,
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  })
  app.addHook('onRequest', async (request, reply) => {
    // https (X-Forwarded-Proto only from a trusted proxy, TRUST_PROXY): helmet's defaults in full.
    if (request.protocol !== 'https') return
    reply.header('strict-transport-security', HSTS)
    const csp = reply.raw.getHeader('content-security-policy')
    if (typeof csp === 'string') reply.raw.setHeader('content-security-policy', `${csp};upgrade-insecure-requests`)
  })
  // Before anything else reads the request: a Host that is not ours (DNS rebinding) is refused.
  const hosts = options.allowedHosts ?? new AllowedHosts()
  app.addHook('onRequest', hostGuard(hosts))
  const corsOrigins = (options.corsOrigins ?? []).map((o) => o.replace(/\/$/, '').toLowerCase())
  // Without CORS_ORIGINS, no cross-origin headers at all: browsers keep other sites' pages out.
  if (corsOrigins.length > 0) await app.register(cors, { origin: [...corsOrigins] })
  const access = options.access ?? new AccessTokens([])
  await app.register(accessPlugin, { tokens: access })
  // After the caller is known (a token counts as one client wherever it comes from), before the
  // access guard (guessing tokens is limited too). Probes are never limited.
  const limits = options.rateLimits ?? { perMinute: 0, ingestPerMinute: 0 }
  const limitOf = (request: FastifyRequest) =>
    routeOf(request) === '/api/ingest' ? limits.ingestPerMinute : limits.perMinute
  await app.register(rateLimit, {
    global: true,
    timeWindow: 60_000,
    max: (request) => limitOf(request),
    allowList: (request) => limitOf(request) === 0 || ['/healthz', '/readyz'].includes(routeOf(request)),
    keyGenerator: (request) => callerKey(request, access),
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`Too many requests: at most ${context.max} a minute; try again in ${context.after}`), {
        statusCode: 429,
      }),
  })
  await app.register(socketIoPlugin, {
    authorize: (handshake) => handshakeRole(access, handshake, (header) => app.parseCookie(header)),
    snapshot: () =>
      buildSnapshot(store, view, tracking, (error) =>
        app.log.warn({ err: error }, 'snapshot without stored windows: the store did not answer'),
      ),
    clock: () => ({ serverTime: new Date().toISOString(), watermark: view.watermark() }),
    teams: teamsOf(routes),
    allowedOrigins: corsOrigins,
    trustProxy: options.trustProxy ?? false,
    handshakeLimit: { perMinute: limits.perMinute, tokens: access },
    allowedHosts: hosts,
    ...(options.socketAdapter ? { adapter: options.socketAdapter } : {}),
  })
  await app.register(healthRoutes, { store, info: options.health })
  await app.register(observabilityRoutes, {
    store,
    info: options.health,
    view,
    clients: () => app.io.engine.clientsCount,
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
  })
  if (options.web ?? true) {
    await app.register(aggregateRoutes, { store })
    await app.register(postRoutes, { store })
    await app.register(responsivenessRoutes, { store })
    await app.register(metricsRoutes, { store, tracking })
    await app.register(teamRoutes, { store, routes })
    await app.register(alertRoutes, {
      store,
      view,
      allowedOrigins: corsOrigins,
      ...(options.alerts ? { alerts: options.alerts } : {}),
    })
  }
  if (options.ingest) await app.register(ingestRoutes, options.ingest)
  if (options.web ?? true) await app.register(clientPlugin, options.clientRoot ? { root: options.clientRoot } : {})
  await app.ready()
  return app
}
