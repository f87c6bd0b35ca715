// HTTP for the polling connectors (Hacker News, Mastodon's backfill): one connection pool per
// subscription, so that unsubscribing closes its sockets at once instead of leaving them idle in
// a process-wide pool; every request is aborted with it.
import { Agent, fetch } from 'undici'

export interface HttpClient {
  /** The body as text; an HTTP error status throws, naming the path. */
  text(url: URL | string, headers?: Record<string, string>): Promise<string>
  close(): void
}

export function httpClient(): HttpClient {
  const agent = new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 10_000 }, headersTimeout: 30_000, bodyTimeout: 30_000 })
  const aborter = new AbortController()
  return {
    async text(url, headers = {}) {
      const response = await fetch(url, { headers, signal: aborter.signal, dispatcher: agent })
      const body = await response.text()
      if (!response.ok) throw new Error(`${new URL(url).pathname} answered HTTP ${response.status}`)
      return body
    },
    close() {
      aborter.abort()
      void agent.destroy().catch(() => {})
    },
  }
}
