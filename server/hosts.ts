// Which Host names this server answers to (ALLOWED_HOSTS), against DNS rebinding: a page on
// evil.example whose name is made to resolve to this server's address would otherwise read the API
// and the live stream as if it were this server's own page. A browser always names the host it
// thinks it talks to, so a request for a name that is not ours is refused (403), as Vite's
// server.allowedHosts and webpack-dev-server's allowedHosts do. Always allowed: loopback names
// (localhost, *.localhost) and IP literals (an address cannot be rebound); when HOST serves other
// machines, this machine's own name (os.hostname(), and <name>.local). Behind a proxy, the Host it
// sends is what is checked.
import { isIP } from 'node:net'
import { hostname as machineName } from 'node:os'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { type EngineMiddleware, refuseEngineRequest } from './engine-refusal.ts'
import { ERROR_CODES, errorBody } from './errors.ts'

/** What ALLOWED_HOSTS holds, read: exact names, domains (a leading dot: it and its subdomains), or any. */
export interface HostRules {
  any: boolean
  names: ReadonlySet<string>
  domains: readonly string[]
}

const NAME = /^\.?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/

/** ALLOWED_HOSTS (`name,.domain,*`) read, each bad entry named. */
export function parseAllowedHosts(value: string): { rules: HostRules; problems: string[] } {
  const names = new Set<string>()
  const domains: string[] = []
  const problems: string[] = []
  let any = false
  for (const entry of value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)) {
    if (entry === '*' || entry === 'all') any = true
    else if (!NAME.test(entry) || entry === '.')
      problems.push(
        `ALLOWED_HOSTS: "${entry}" is not a host name (expected a name such as wall.example, .example for it and its subdomains, or * for any; no scheme, no port)`,
      )
    else if (entry.startsWith('.')) domains.push(entry.slice(1).replace(/\.$/, ''))
    else names.add(entry.replace(/\.$/, ''))
  }
  return { rules: { any, names, domains }, problems }
}

/** Whether HOST (the interface listened on) lets other machines in: anything but loopback. */
export function servesOthers(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return !(h === 'localhost' || h === '::1' || /^127\./.test(h))
}

/** The name in a Host header, lowercased, without its port or a trailing dot; IPv6 keeps no brackets. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase()
  const name = h.startsWith('[') ? h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined) : h.replace(/:\d*$/, '')
  return name.replace(/\.$/, '')
}

export class AllowedHosts {
  private readonly rules: HostRules
  private readonly names: Set<string>

  /**
   * `setting`: ALLOWED_HOSTS; `listen`: HOST; `machine`: this machine's name (os.hostname()).
   * Bad entries throw (config.ts reports them first, with the others).
   */
  constructor(setting = '', options: { listen?: string; machine?: string } = {}) {
    const { rules, problems } = parseAllowedHosts(setting)
    if (problems.length > 0) throw new Error(problems.join('; '))
    this.rules = rules
    this.names = new Set(rules.names)
    const listen = options.listen ?? '127.0.0.1'
    if (servesOthers(listen)) {
      // A name given as HOST is one this server is meant to be reached by.
      if (isIP(listen) === 0 && listen !== '0.0.0.0' && listen !== '::') this.names.add(hostName(listen))
      const machine = (options.machine ?? machineName()).toLowerCase().replace(/\.$/, '')
      const short = machine.split('.')[0] ?? machine
      if (machine) for (const name of [machine, short, `${short}.local`]) this.names.add(name)
    }
  }

  /** Whether a request that names `header` as its Host is answered. No Host (HTTP/1.0 tools) names nothing to rebind. */
  allows(header: string | undefined): boolean {
    if (header === undefined || this.rules.any) return true
    const name = hostName(header)
    if (isIP(name) !== 0) return true
    if (name === 'localhost' || name.endsWith('.localhost')) return true
    return this.names.has(name) || this.rules.domains.some((d) => name === d || name.endsWith(`.${d}`))
  }

  /** What a refused request is told: what, why, and how to allow it. */
  refusal(header: string): string {
    const name = hostName(header)
    return `Host "${name}" is not allowed: Undertow answers only to the names it is served under, so that another site cannot reach it through DNS rebinding. To open it as ${name}, add it to ALLOWED_HOSTS (comma-separated names; a leading dot, as in .example.com, allows a domain and its subdomains; * allows any name)`
  }
}

/** The onRequest hook: 403 for a Host that is not allowed, before anything else looks at the request. */
export function hostGuard(hosts: AllowedHosts) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const host = request.headers.host
    if (!hosts.allows(host)) return reply.status(403).send(errorBody(ERROR_CODES.FORBIDDEN, hosts.refusal(host ?? '')))
  }
}

/**
 * The same check for socket.io's own requests (its handshake, polling and WebSocket upgrade),
 * which reach engine.io before Fastify: an engine.io middleware (`io.engine.use`).
 */
export function engineHostGuard(hosts: AllowedHosts): EngineMiddleware {
  return (request, response, next) => {
    const host = request.headers.host
    if (hosts.allows(host)) return next()
    refuseEngineRequest(
      response,
      403,
      errorBody(ERROR_CODES.FORBIDDEN, hosts.refusal(host ?? '')),
      next,
      `Host "${hostName(host ?? '')}" is not allowed`,
    )
  }
}
