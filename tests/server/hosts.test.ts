// ALLOWED_HOSTS against DNS rebinding: a request whose Host is not one of this server's names is
// refused (403, saying how to allow it), over HTTP and on socket.io's handshake, with or without
// access tokens; loopback names and IP literals always pass, and this machine's name when HOST
// serves other machines.
import { request as httpRequest } from 'node:http'
import { connect as tcpConnect } from 'node:net'
import { io as connect } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AccessTokens, parseAuthTokens } from '../../server/access.ts'
import { ConfigError, loadConfig } from '../../server/config.ts'
import { AllowedHosts, hostName, parseAllowedHosts } from '../../server/hosts.ts'
import { testApp } from '../support/server.ts'

/** A raw HTTP GET with the Host header as given (fetch would set its own). */
function get(url: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, headers: { host } }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** A WebSocket upgrade by hand, for socket.io's websocket transport: the status line that comes back. */
function upgrade(url: string, host: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname, () => {
      socket.write(
        [
          'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1',
          `Host: ${host}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          'Sec-WebSocket-Version: 13',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          '',
          '',
        ].join('\r\n'),
      )
    })
    let answer = ''
    socket.on('data', (d) => {
      answer += d
      if (answer.includes('\r\n\r\n')) {
        socket.destroy()
        resolve(answer)
      }
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(answer))
  })
}

describe('ALLOWED_HOSTS', () => {
  it('reads names, domains and any; refuses what is not a host name', () => {
    expect(parseAllowedHosts('wall.example, .corp.example,WALL2.').rules).toMatchObject({
      any: false,
      names: new Set(['wall.example', 'wall2']),
      domains: ['corp.example'],
    })
    expect(parseAllowedHosts('*').rules.any).toBe(true)
    expect(parseAllowedHosts('all').rules.any).toBe(true)
    expect(parseAllowedHosts('http://wall.example, wall:3000').problems).toEqual([
      expect.stringContaining('"http://wall.example" is not a host name'),
      expect.stringContaining('"wall:3000" is not a host name'),
    ])
    expect(() => loadConfig({ ALLOWED_HOSTS: 'wall.example/x' })).toThrow(ConfigError)
    expect(loadConfig({ ALLOWED_HOSTS: 'wall.example,.corp.example' }).ALLOWED_HOSTS).toBe('wall.example,.corp.example')
  })

  it('reads the name out of a Host header: no port, no trailing dot, any case, IPv6 without brackets', () => {
    expect(hostName('Wall.Example.:3000')).toBe('wall.example')
    expect(hostName('[::1]:3000')).toBe('::1')
    expect(hostName('10.0.0.5')).toBe('10.0.0.5')
  })

  it('always allows loopback names and IP literals, and nothing else by default', () => {
    const hosts = new AllowedHosts('', { listen: '127.0.0.1', machine: 'undertow-host' })
    for (const ok of [
      'localhost',
      'localhost:3000',
      'wall.localhost:3000',
      '127.0.0.1:3000',
      '10.1.2.3',
      '[::1]:3000',
      '[fe80::1]',
      undefined,
    ])
      expect(hosts.allows(ok), String(ok)).toBe(true)
    // Served on loopback only, the machine's own name is not one the wall is opened by.
    for (const bad of [
      'evil.example',
      'evil.example:3000',
      'undertow-host',
      'localhost.evil.example',
      '127.0.0.1.evil.example',
      'x:abc',
    ])
      expect(hosts.allows(bad), bad).toBe(false)
  })

  it("adds this machine's name (and .local) when HOST serves other machines, and what ALLOWED_HOSTS lists", () => {
    const hosts = new AllowedHosts('wall.example,.corp.example', { listen: '0.0.0.0', machine: 'Undertow-Host.lan' })
    for (const ok of [
      'undertow-host.lan:3000',
      'undertow-host',
      'undertow-host.local:3000',
      'wall.example',
      'corp.example',
      'tv.corp.example:3000',
      'a.b.corp.example',
    ])
      expect(hosts.allows(ok), ok).toBe(true)
    for (const bad of ['evil.example', 'wall.example.evil.example', 'evilcorp.example', 'other.lan'])
      expect(hosts.allows(bad), bad).toBe(false)
    expect(new AllowedHosts('', { listen: 'wall-host', machine: 'box' }).allows('wall-host:3000')).toBe(true)
    expect(new AllowedHosts('*', { listen: '127.0.0.1' }).allows('anything.example')).toBe(true)
  })
})

describe.each([
  ['without access tokens', undefined],
  ['with access tokens', new AccessTokens(parseAuthTokens('viewer:viewer-0123456789abcdef').tokens)],
])('the Host check, %s', (_name, access) => {
  let t: Awaited<ReturnType<typeof testApp>>
  let url: string
  beforeAll(async () => {
    t = await testApp({ allowedHosts: new AllowedHosts('undertow-host'), ...(access ? { access } : {}) })
    url = await t.app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => t?.close())

  it('refuses a request for another name (DNS rebinding) with 403, saying why and how to allow it', async () => {
    for (const path of ['/', '/api/posts', '/api/session', '/healthz', '/readyz', '/metrics', '/no-such-route']) {
      const res = await t.app.inject({ url: path, headers: { host: 'evil.example:3000' } })
      expect(res.statusCode, path).toBe(403)
      expect(res.json()).toEqual({
        error: { code: 'forbidden', message: expect.stringContaining('Host "evil.example" is not allowed') },
      })
      expect(res.json().error.message).toMatch(/DNS rebinding.*ALLOWED_HOSTS/)
      // Still with the security headers.
      expect(res.headers['x-content-type-options']).toBe('nosniff')
    }
  })

  it('answers the names it is served under', async () => {
    for (const host of ['undertow-host:3000', 'localhost:3000', '127.0.0.1:3000', '[::1]:3000']) {
      const res = await t.app.inject({ url: '/healthz', headers: { host } })
      expect(res.statusCode, host).toBe(200)
    }
    expect((await get(url, '/healthz', 'undertow-host')).status).toBe(200)
    expect((await get(url, '/healthz', 'evil.example')).status).toBe(403)
  })

  it("refuses socket.io's handshake for another name, by polling and by WebSocket", async () => {
    const polling = await get(url, '/socket.io/?EIO=4&transport=polling', 'evil.example:3000')
    expect(polling.status).toBe(403)
    expect(JSON.parse(polling.body)).toEqual({
      error: { code: 'forbidden', message: expect.stringContaining('Host "evil.example" is not allowed') },
    })
    expect(await upgrade(url, 'evil.example:3000')).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*ALLOWED_HOSTS/)
    // The same handshakes for an allowed name get through to socket.io.
    expect((await get(url, '/socket.io/?EIO=4&transport=polling', 'undertow-host:3000')).body).toMatch(/^0\{"sid":/)
    expect(await upgrade(url, 'undertow-host:3000')).toMatch(/^HTTP\/1\.1 101 /)
  })

  it('lets a wall connect under an allowed name, and refuses it under another', async () => {
    const open = (host: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(url, {
          transports: ['websocket'],
          reconnection: false,
          extraHeaders: { host },
          auth: { token: 'viewer-0123456789abcdef' },
        })
        socket.once('snapshot.v1', () => (socket.close(), resolve('snapshot')))
        socket.once('connect_error', (error) => (socket.close(), resolve(`refused: ${error.message}`)))
      })
    expect(await open('undertow-host:3000')).toBe('snapshot')
    expect(await open('evil.example:3000')).toMatch(/^refused/)
  })
})
