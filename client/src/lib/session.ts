// Access (AUTH_TOKENS on the server): a wall link carries a viewer token in its hash
// (`#/wall?token=...`; a hash never reaches any server or its logs). The page hands it once to
// GET /api/session, which keeps it in an HttpOnly cookie: from then on every request, the CSV
// download and the live socket carry it, and the token leaves the address bar (and the big screen).
export type Role = 'admin' | 'viewer'
export type Session = { access: 'open' | 'tokens'; role: Role } | { access: 'needs-token'; message: string }

/** The token a link carries in its hash, and the hash without it. */
export function tokenInHash(hash: string): { token: string | undefined; rest: string } {
  const [path = '', q = ''] = hash.split('?', 2)
  const params = new URLSearchParams(q)
  const token = params.get('token') ?? undefined
  params.delete('token')
  const left = params.toString()
  return { token: token || undefined, rest: `${path}${left ? `?${left}` : ''}` }
}

/** Asks the server who this page is; with `token`, signs in with it first. */
export async function openSession(token?: string): Promise<Session> {
  let response: Response
  try {
    response = await fetch('/api/session', token ? { headers: { authorization: `Bearer ${token}` } } : {})
  } catch {
    return {
      access: 'needs-token',
      message: 'The server cannot be reached. Check that Undertow is running, then reload.',
    }
  }
  if (response.ok) return (await response.json()) as Session
  const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null
  return {
    access: 'needs-token',
    message: token
      ? 'That token is not valid here: ask for a new link or token.'
      : (body?.error?.message ?? `${response.status} ${response.statusText}`),
  }
}

/** Signs the page out: the cookie goes; the next load asks for a token again. */
export async function closeSession(): Promise<void> {
  await fetch('/api/session', { method: 'DELETE' }).catch(() => undefined)
}
