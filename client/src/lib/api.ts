// The HTTP API, as the pages use it: every failure becomes an ApiError whose message says what
// went wrong and what to do, ready to show as it is.
import type { ErrorBody } from '../../../server/errors.ts'

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

type Params = URLSearchParams | Record<string, string | number | boolean | undefined>

export function query(params: Params = {}): string {
  const q =
    params instanceof URLSearchParams
      ? params
      : new URLSearchParams(
          Object.entries(params).flatMap(([k, v]) => (v === undefined || v === '' ? [] : [[k, String(v)]])),
        )
  const s = q.toString()
  return s ? `?${s}` : ''
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, init)
  } catch {
    throw new ApiError(
      'The server cannot be reached. Check that Undertow is running and this machine is online, then try again.',
      0,
    )
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as ErrorBody | null
    const what = body?.error?.message ?? `${response.status} ${response.statusText}`
    const todo = response.status >= 500 ? ' Try again in a moment; if it goes on, see the server log.' : ''
    throw new ApiError(`${what}${todo}`, response.status)
  }
  return (await response.json()) as T
}

export const getJson = <T>(path: string, params?: Params, signal?: AbortSignal) =>
  call<T>(`${path}${query(params)}`, { signal })

export const postJson = <T>(path: string) => call<T>(path, { method: 'POST' })
