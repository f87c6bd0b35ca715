// Addresses as they may be shown (logs, /readyz, error messages): a URL's credentials
// (`redis://:secret@redis`, `nats://token@nats`, `?password=`) replaced by ***, the rest kept so an
// operator still sees which server is meant. Works on any text, so a library's message that quotes
// the URL it was given is safe to show too.

/** What cannot be inside a URL as written in a message: where one ends. */
const BREAKS = /([\s"'`<>]+)/
/** Where a URL starts inside a word: a list (`nats://a@n1,nats://b@n2`) is several. */
const SCHEME = /[a-z][a-z0-9+.-]*:\/\//gi
/**
 * Schemes whose paths may hold an @ (https://mastodon.social/@alice). In other addresses (redis,
 * nats, ...) nothing after the credentials does, so their last @ ends the credentials.
 */
const PATH_AT = new Set(['http', 'https', 'ws', 'wss', 'ftp', 'file'])
/** A host with an optional port: what an authority is when it holds no credentials. */
const HOST_PORT = /^(?:[a-z0-9._~%-]+|\[[0-9a-f:.]+\])(?::\d*)?$/i
/** Query parameters that carry secrets. */
const SECRET_PARAMS =
  /([?&](?:password|passwd|pass|pwd|token|access_token|auth|secret|key|api_key|apikey|signature|sig)=)[^&#\s]*/gi

/**
 * One URL (up to the next one, or the end of its word) with its user-info hidden. Parsers end the
 * credentials at the last @ of the authority; a password written with / # ? in it unencoded ends
 * the authority early for them, so the last @ of the URL is taken, unless (a web URL) what comes
 * before the first / ? # is a plain host, and the @ is its path's.
 */
function redactOne(url: string): string {
  const start = url.indexOf('://') + 3
  const rest = url.slice(start)
  const at = rest.lastIndexOf('@')
  if (at <= 0) return url
  const end = rest.search(/[/?#]/)
  const authority = end < 0 ? rest : rest.slice(0, end)
  if (at >= authority.length && PATH_AT.has(url.slice(0, start - 3).toLowerCase()) && HOST_PORT.test(authority))
    return url
  const info = rest.slice(0, at)
  const colon = info.indexOf(':')
  // user:password keeps the user; a lone user-info (NATS, some Redis URLs) may be a token.
  return `${url.slice(0, start)}${colon >= 0 ? `${info.slice(0, colon)}:***` : '***'}${rest.slice(at)}`
}

/** A word of a text with each URL in it redacted. */
function redactWord(word: string): string {
  const starts = [...word.matchAll(SCHEME)].map((m) => m.index)
  if (starts.length === 0) return word
  return (
    word.slice(0, starts[0]) + starts.map((s, i) => redactOne(word.slice(s, starts[i + 1] ?? word.length))).join('')
  )
}

export function redactUrl(text: string): string {
  return text
    .split(BREAKS)
    .map((part, i) => (i % 2 === 1 ? part : redactWord(part)))
    .join('')
    .replace(SECRET_PARAMS, '$1***')
}

/**
 * A value meant as an address (a setting), redacted even when it is not a well-formed URL (a
 * typo such as `redis//:secret@redis`, which is when a setting's value gets shown): whatever
 * comes before its last `@` is hidden unless a URL's user-info was found and redacted.
 */
export function redactAddress(value: string): string {
  const redacted = redactUrl(value)
  const at = value.lastIndexOf('@')
  return redacted === value && at >= 0 ? `***@${value.slice(at + 1)}` : redacted
}
