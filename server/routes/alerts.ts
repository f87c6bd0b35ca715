// GET /api/alerts: stored alerts in their newest state, newest first, by brand, range and state.
// POST /api/alerts/:id/acknowledge: a person has seen an open alert. The running pipeline
// acknowledges it, so it goes out live (alert.updated.v1) and is stored like any change; it goes
// on escalating and resolving as before.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { LiveView } from '../../pipelines/sinks/live-memory.ts'
import Type from 'typebox'
import { Alert } from '../../pipelines/schema.ts'
import type { Store } from '../../pipelines/store/store.ts'
import { UnavailableError } from '../errors.ts'
import { originAllowed } from '../origin.ts'

export const MAX_ALERTS = 1_000

/** What can change an alert: the running pipeline's (pipeline.ts). */
export interface AlertActions {
  /** The alert, acknowledged now; null when no alert with this id is open. Throws UnavailableError when no pipeline can. */
  acknowledge(id: string): Alert | null | Promise<Alert | null>
}

const Query = Type.Object(
  {
    brand: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    state: Type.Optional(Alert.properties.state),
    limit: Type.Integer({ minimum: 1, maximum: MAX_ALERTS, default: 100 }),
  },
  { additionalProperties: false },
)

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) })

export const alertRoutes: FastifyPluginAsyncTypebox<{
  store: Store
  view: LiveView
  alerts?: AlertActions
  allowedOrigins?: readonly string[]
}> = async (app, { store, view, alerts, allowedOrigins = [] }) => {
  app.get(
    '/api/alerts',
    { schema: { querystring: Query, response: { 200: Type.Object({ alerts: Type.Array(Alert) }) } } },
    async (request) => ({
      alerts: await store.alerts(request.query),
    }),
  )

  app.post(
    '/api/alerts/:id/acknowledge',
    { schema: { params: Params, response: { 200: Type.Object({ alert: Alert }) } } },
    async (request) => {
      // A page on another site must not acknowledge a live alert through a war room's browser:
      // browsers name the page's origin on every POST, and it must be this server's: the host the
      // browser used (request.host and .protocol follow X-Forwarded-* from a proxy TRUST_PROXY trusts).
      const origin = request.headers.origin
      if (!originAllowed(origin, request.host, request.protocol, allowedOrigins))
        throw Object.assign(
          new Error(
            `acknowledging from another page's site (${origin}) is refused: acknowledge from Undertow's own pages`,
          ),
          { statusCode: 403 },
        )
      const { id } = request.params
      if (!alerts) throw new UnavailableError('this server runs without a pipeline, so it cannot acknowledge alerts')
      const alert = await alerts.acknowledge(id)
      if (alert) return { alert }
      // Not open now: what became of it, if it ever was, as pushed live (not stored yet, perhaps) or stored.
      const known = view.recentAlerts().find((a) => a.id === id) ?? (await store.alerts({ id, limit: 1 }))[0]
      const why = !known
        ? 'no alert has this id'
        : known.state === 'open'
          ? 'it is stored as open, but the running pipeline does not follow it (is its brand still tracked?)'
          : `it is ${known.state} already`
      // Unknown: 404. Known but past being acknowledged: 409, the request conflicts with its state.
      throw Object.assign(new Error(`alert ${JSON.stringify(id)} is not open, so it cannot be acknowledged: ${why}`), {
        statusCode: known ? 409 : 404,
      })
    },
  )
}
