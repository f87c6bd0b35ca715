// Which pages may act through a visitor's browser: this server's own, and the sites CORS_ORIGINS
// names. A browser names the page's origin on every cross-site request and every POST; tools send
// none, and are let through (access by token is another matter).
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined || allowed.includes(origin.toLowerCase())) return true
  try {
    return new URL(origin).host.toLowerCase() === (host ?? '').toLowerCase()
  } catch {
    // "null" (a sandboxed or file page) and anything that is not a URL.
    return false
  }
}
