// Values from the wire, as they appear in error messages: short, and never throwing. Hostile JSON
// can nest deep enough to overflow JSON.stringify, or carry objects whose toString is not a function.

/** A value for "expected X, got <value>": strings quoted and cut short, containers by their kind. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value)
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

/** A value the server meant as text (an error's name or message): as it is when it is a string. */
export const asText = (value: unknown) => (typeof value === 'string' ? value.slice(0, 500) : show(value))
