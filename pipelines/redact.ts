// Addresses as they may be shown (logs, /readyz, error messages): a URL's credentials
// (`redis://:secret@redis`, `nats://token@nats`, `?password=`) replaced by ***, the rest kept so an
// operator still sees which server is meant. Works on any text, so a library's message that quotes
// the URL it was given is safe to show too.

const SCHEME = String.raw`[a-z][a-z0-9+.-]*://`
/** The user-info of a URL in a text: up to its `@`, within the authority (as URL parsers read it: before any / ? #). */
const USERINFO = new RegExp(String.raw`(${SCHEME})([^\s@/?#]*)@`, 'gi')
/** Query parameters that carry secrets. */
const SECRET_PARAMS = /([?&](?:password|passwd|pass|pwd|token|access_token|auth|secret|key|api_key|apikey|signature|sig)=)[^&#\s]*/gi

export function redactUrl(text: string): string {
  return text
    .replace(USERINFO, (_all, scheme: string, info: string) => {
      const colon = info.indexOf(':')
      // user:password keeps the user; a lone user-info (NATS, some Redis URLs) may be a token.
      return `${scheme}${colon >= 0 ? `${info.slice(0, colon)}:***` : '***'}@`
    })
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
