// HTTP for the polling connectors (Hacker News, Mastodon's backfill): one connection pool per
// subscription, so that unsubscribing closes its sockets at once instead of leaving them idle in
// a process-wide pool; every request is aborted with it, and none waits more than 30 s.
import { Agent, fetch } from 'undici'

/** An answer other than 2xx: its status, and when the server asks to be left alone until (429). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly retryAt: number | undefined,
    message: string,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export interface HttpClient {
  /** The body as text; an answer other than 2xx throws an HttpError naming the path. */
  text(url: URL | string, headers?: Record<string, string>): Promise<string>
  close(): void
}

/** When a throttled client may ask again: Retry-After (seconds), or Mastodon's X-RateLimit-Reset (a date). */
function retryAt(headers: { get(name: string): string | null }): number | undefined {
  const after = Number(headers.get('retry-after'))
  if (after > 0) return Date.now() + after * 1000
  const reset = Date.parse(headers.get('x-ratelimit-reset') ?? '')
  return Number.isNaN(reset) ? undefined : reset
}

export function httpClient(): HttpClient {
  const agent = new Agent({
    keepAliveTimeout: 10_000,
    connect: { timeout: 10_000 },
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  })
  const aborter = new AbortController()
  return {
    async text(url, headers = {}) {
      const response = await fetch(url, { headers, signal: aborter.signal, dispatcher: agent })
      const body = await response.text()
      if (!response.ok)
        throw new HttpError(
          response.status,
          retryAt(response.headers),
          `${new URL(url).pathname} answered HTTP ${response.status}`,
        )
      return body
    },
    close() {
      aborter.abort()
      void agent.destroy().catch(() => {})
    },
  }
}
