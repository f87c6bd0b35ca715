// Access control (AUTH_TOKENS): who may read the API and the live stream, and who may act.
// Without tokens configured, everything is open, as on a laptop. With them:
// - every /api route (the webhook aside: it has its own token) and /metrics needs a token, from
//   `Authorization: Bearer <token>`, or from the session cookie the page sets (below);
// - a viewer token reads (GET), an admin token may also act (acknowledge alerts);
// - socket.io needs a token too, from the handshake's `auth.token` or the cookie.
// The page itself (HTML, scripts) carries no data and stays open; a wall link carries a viewer
// token in its hash (`#/wall?token=...`, never sent to any server), which the page exchanges for
// the cookie at GET /api/session: then CSV downloads and the socket carry it without script.
// The cookie is HttpOnly (script cannot read it) and SameSite=Strict (other sites' pages cannot
// send it); it holds the token itself, so it works across restarts and several web processes.
import { createHash, timingSafeEqual } from 'node:crypto'
import cookie from '@fastify/cookie'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ERROR_CODES, errorBody } from './errors.ts'
import { addressKey } from './plugins/handshake-limit.ts'

export const ACCESS_ROLES = ['admin', 'viewer'] as const
export type AccessRole = (typeof ACCESS_ROLES)[number]
export const SESSION_COOKIE = 'undertow_token'
/** Shortest token taken: 16 characters (about 96 bits from a random base64 string). */
export const MIN_TOKEN_LENGTH = 16

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Equal in constant time: the hashes are compared, so neither length nor content leaks. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected))
}

/** The tokens configured, by role. Every token is compared, so the time says nothing of which matched. */
export class AccessTokens {
  /** Each token's hash, made once: a request hashes only the token it brings. */
  private readonly digests: readonly { role: AccessRole; digest: Buffer }[]

  constructor(tokens: readonly { role: AccessRole; token: string }[]) {
    this.digests = tokens.map((t) => ({ role: t.role, digest: digest(t.token) }))
  }

  get enabled(): boolean {
    return this.digests.length > 0
  }

  roleOf(given: string | undefined): AccessRole | undefined {
    if (!given) return undefined
    const hashed = digest(given)
    let role: AccessRole | undefined
    for (const t of this.digests) if (timingSafeEqual(hashed, t.digest)) role ??= t.role
    return role
  }
}

/** AUTH_TOKENS (`role:token,...`) read, each bad entry named without showing its token. */
export function parseAuthTokens(value: string): { tokens: { role: AccessRole; token: string }[]; problems: string[] } {
  const tokens: { role: AccessRole; token: string }[] = []
  const problems: string[] = []
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .forEach((entry, i) => {
      const at = entry.indexOf(':')
      const role = entry.slice(0, Math.max(at, 0))
      const token = entry.slice(at + 1)
      if (at <= 0 || !(ACCESS_ROLES as readonly string[]).includes(role))
        problems.push(
          `AUTH_TOKENS: entry ${i + 1} does not start with a role (expected admin:<token> or viewer:<token>)`,
        )
      else if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
        problems.push(
          `AUTH_TOKENS: entry ${i + 1} (${role}): the token needs at least ${MIN_TOKEN_LENGTH} characters and no spaces (got ${token.length})`,
        )
      else if (tokens.some((t) => t.token === token))
        problems.push(`AUTH_TOKENS: entry ${i + 1} (${role}): the same token is given twice`)
      else tokens.push({ role: role as AccessRole, token })
    })
  return { tokens, problems }
}

/** The token a request carries: the bearer header first, else the session cookie. */
export function tokenOf(
  headers: { authorization?: string | undefined },
  cookies: Record<string, string | undefined>,
): string | undefined {
  const header = headers.authorization ?? ''
  if (header.startsWith('Bearer ')) return header.slice('Bearer '.length).trim()
  return cookies[SESSION_COOKIE]
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's role; admin when access control is off. */
    role: AccessRole | undefined
    /** The key the caller is counted under (callerKey): its store reads take turns by it. */
    caller: string
  }
}

/**
 * The route a request matched (its pattern, as registered), or '' when none did. Decisions go by
 * this, never by the URL's text: the router decodes (`/%61pi/posts` is `/api/posts`) and takes a
 * full URL in the request line (`GET http://x/api/posts`), so text would let those past.
 */
export const routeOf = (request: FastifyRequest) => request.routeOptions.url ?? ''

/** What needs a token: the API (the webhook has its own) and the Prometheus metrics. */
const guarded = (route: string) =>
  (route.startsWith('/api/') && route !== '/api/ingest' && route !== '/api/session') || route === '/metrics'

/** The key a caller is counted under by the rate limits: its token (hashed) when it is a valid one, else its address (an IPv6 one by its /64, which one client holds whole). */
export function callerKey(request: FastifyRequest, tokens: AccessTokens): string {
  const token = tokens.enabled && request.role ? tokenOf(request.headers, request.cookies) : undefined
  return token ? `token:${digest(token).toString('hex').slice(0, 32)}` : `ip:${addressKey(request.ip)}`
}
const reads = new Set(['GET', 'HEAD'])

export const accessPlugin = fp<{ tokens: AccessTokens }>(
  async (app, { tokens }) => {
    await app.register(cookie)
    app.decorateRequest('role', undefined)
    app.decorateRequest('caller', '')
    const roleOf = (request: FastifyRequest) =>
      tokens.enabled ? tokens.roleOf(tokenOf(request.headers, request.cookies)) : 'admin'

    // Who is asking is known first (the rate limits count by token); the guard runs after the
    // rate limits, so guessing tokens is limited like any request.
    app.addHook('onRequest', async (request) => {
      request.role = roleOf(request)
      request.caller = callerKey(request, tokens)
    })
    app.addHook('preParsing', async (request, reply) => {
      if (!guarded(routeOf(request))) return
      const path = routeOf(request)
      if (!request.role)
        return reply
          .status(401)
          .send(
            errorBody(
              ERROR_CODES.UNAUTHORIZED,
              `${request.method} ${path} needs an access token: Authorization: Bearer <token> (AUTH_TOKENS)`,
            ),
          )
      if (request.role !== 'admin' && !reads.has(request.method))
        return reply
          .status(403)
          .send(
            errorBody(ERROR_CODES.FORBIDDEN, `${request.method} ${path} needs an admin token; this one is a viewer's`),
          )
    })

    /**
     * The page's session: with a token in the Authorization header, remembers it in the cookie;
     * answers whether access control is on and the caller's role (401 without a valid token).
     */
    app.get('/api/session', async (request, reply) => {
      if (!tokens.enabled) return { access: 'open', role: 'admin' }
      if (!request.role)
        return reply
          .status(401)
          .send(
            errorBody(
              ERROR_CODES.UNAUTHORIZED,
              'This Undertow needs an access token: open a wall link that carries one, or enter it',
            ),
          )
      const given = request.headers.authorization?.startsWith('Bearer ') ? tokenOf(request.headers, {}) : undefined
      if (given)
        reply.setCookie(SESSION_COOKIE, given, {
          path: '/',
          httpOnly: true,
          sameSite: 'strict',
          secure: request.protocol === 'https',
        })
      return { access: 'tokens', role: request.role }
    })

    /** Signs the page out: the cookie is cleared. */
    app.delete('/api/session', async (_request, reply) => {
      reply.clearCookie(SESSION_COOKIE, { path: '/' })
      return reply.status(204).send()
    })
  },
  { name: 'access' },
)

/** The role of a socket.io handshake: `auth.token`, else the cookie; admin when access control is off. */
export function handshakeRole(
  tokens: AccessTokens,
  handshake: { auth: Record<string, unknown>; headers: { cookie?: string | undefined } },
  parseCookie: (header: string) => Record<string, string | undefined>,
): AccessRole | undefined {
  if (!tokens.enabled) return 'admin'
  const given =
    typeof handshake.auth.token === 'string'
      ? handshake.auth.token
      : parseCookie(handshake.headers.cookie ?? '')[SESSION_COOKIE]
  return tokens.roleOf(given)
}
