// Which pages may act through a visitor's browser: this server's own, and the sites CORS_ORIGINS
// names. A browser names the page's origin on every cross-site request and every POST; tools send
// none, and are let through (access by token is another matter).
//
// "This server" is the host the browser used. Behind a reverse proxy that is what the proxy says
// it was (X-Forwarded-Host, else the Host it passes on), believed only from a proxy TRUST_PROXY
// trusts, by the same rules as Fastify's request.host (proxy-addr, hop 0 the connection's peer).
import type { IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'

/** TRUST_PROXY as Fastify takes it (config.ts trustProxyOf). */
export type TrustProxy = boolean | string | ((address: string, hop: number) => boolean)

/** Fastify's own reading of its `trustProxy` option: whether the proxy at `hop` (0: the peer) is believed. */
export function proxyTrust(trustProxy: TrustProxy | undefined): (address: string, hop: number) => boolean {
  if (typeof trustProxy === 'function') return trustProxy
  if (trustProxy === true) return () => true
  if (!trustProxy) return () => false
  return proxyAddr.compile(trustProxy.split(',').map((s) => s.trim()))
}

/** A proxy may send a header more than once or with several values: the nearest one's is the last. */
const last = (value: string | string[] | undefined) =>
  (Array.isArray(value) ? value.at(-1) : value)?.split(',').at(-1)?.trim() || undefined

/** What a raw request (socket.io's, which bypasses Fastify) says of the browser, as Fastify's request.host, .protocol and .ip do. */
export function requestOrigin(
  request: IncomingMessage,
  trust: (address: string, hop: number) => boolean,
): { host: string | undefined; scheme: string; address: string } {
  const peer = request.socket.remoteAddress ?? ''
  const trusted = peer !== '' && trust(peer, 0)
  const encrypted = (request.socket as { encrypted?: boolean }).encrypted === true
  return {
    host: (trusted ? last(request.headers['x-forwarded-host']) : undefined) ?? request.headers.host,
    scheme: (trusted ? last(request.headers['x-forwarded-proto']) : undefined) ?? (encrypted ? 'https' : 'http'),
    address: proxyAddr(request, trust),
  }
}

/** `host` as a URL writes it for `scheme`: lowercased, the scheme's default port (80, 443) dropped; undefined when it is no host. */
function normalHost(host: string, scheme: string): string | undefined {
  try {
    const url = new URL(`${scheme === 'https' ? 'https' : 'http'}://${host}`)
    // A "host" with a path, user or query in it is not one.
    return url.username || url.password || url.pathname !== '/' || url.search || url.hash ? undefined : url.host
  } catch {
    return undefined
  }
}

/**
 * Whether a request naming `origin` comes from a page allowed to act: no origin (a tool), one of
 * `allowed` (CORS_ORIGINS, lowercased), or a page of the host the browser used (`host`, reached
 * over `scheme`; the default port counts as none).
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  scheme: string,
  allowed: readonly string[],
): boolean {
  if (origin === undefined || allowed.includes(origin.toLowerCase())) return true
  let page: URL
  try {
    page = new URL(origin)
  } catch {
    // "null" (a sandboxed or file page) and anything that is not a URL.
    return false
  }
  if (page.protocol !== 'http:' && page.protocol !== 'https:') return false
  const ours = host === undefined ? undefined : normalHost(host, scheme)
  return ours !== undefined && page.host === ours
}
