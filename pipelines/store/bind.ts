// Query parameters for servers that cannot bind them. Every query is written once with typed
// placeholders ({name:Type}); chdb and current servers bind them themselves, but ClickHouse before
// 19.x answers `param_*` with "Unknown setting". For those, this renders each value as a literal of
// its declared type, the way a driver's client-side prepared statement does: numbers are checked to
// be numbers of that type, strings are quoted with every quote, backslash and control character
// escaped. No caller ever splices a value into SQL itself.

export type Params = Record<string, unknown>

/** A value that cannot be bound as its declared type: the data is wrong, retrying cannot help. */
export class QueryParameterError extends Error {
  override name = 'QueryParameterError'
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):([A-Za-z0-9_() ]+)\}/g

const INTEGER_RANGE: Record<string, [bigint, bigint]> = {
  UInt8: [0n, 255n],
  UInt16: [0n, 65_535n],
  UInt32: [0n, 4_294_967_295n],
  UInt64: [0n, 18_446_744_073_709_551_615n],
  Int8: [-128n, 127n],
  Int16: [-32_768n, 32_767n],
  Int32: [-2_147_483_648n, 2_147_483_647n],
  Int64: [-9_223_372_036_854_775_808n, 9_223_372_036_854_775_807n],
}

const EMPTY_ARRAY: Record<string, string> = Object.fromEntries(
  ['String', 'UInt8', 'UInt16', 'UInt32', 'UInt64', 'Int8', 'Int16', 'Int32', 'Int64', 'Float64'].map((t) => [
    t,
    `emptyArray${t}()`,
  ]),
)

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
}

/** A ClickHouse string literal holding exactly `value`. */
export function quoteString(value: string): string {
  // eslint-disable-next-line no-control-regex
  return `'${value.replace(/[\\'\n\r\t\0\b\f]|[\u0001-\u001f\u007f]/g, (c) => ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`
}

export function literal(value: unknown, type: string, name: string): string {
  const array = /^Array\((.+)\)$/.exec(type)
  if (array) {
    if (!Array.isArray(value))
      throw new QueryParameterError(`query parameter ${name}: expected an array for ${type}, got ${typeof value}`)
    // A bare [] is Array(Nothing), which 18.x cannot compare with anything.
    if (value.length === 0 && EMPTY_ARRAY[array[1]!]) return EMPTY_ARRAY[array[1]!]!
    return `[${value.map((v, i) => literal(v, array[1]!, `${name}[${i}]`)).join(', ')}]`
  }
  if (type === 'String') {
    if (typeof value !== 'string')
      throw new QueryParameterError(`query parameter ${name}: expected a string, got ${typeof value}`)
    return quoteString(value)
  }
  const range = INTEGER_RANGE[type]
  if (range) {
    if (!(typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value)))) {
      throw new QueryParameterError(
        `query parameter ${name}: expected a safe integer for ${type}, got ${String(value)}`,
      )
    }
    const n = BigInt(value)
    if (n < range[0] || n > range[1])
      throw new QueryParameterError(`query parameter ${name}: ${n} is out of range for ${type}`)
    // A bare literal: 18.x takes nothing else after LIMIT and OFFSET.
    return String(n)
  }
  if (type === 'Float64') {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new QueryParameterError(`query parameter ${name}: expected a finite number, got ${String(value)}`)
    return `toFloat64(${value})`
  }
  throw new QueryParameterError(`query parameter ${name}: type ${type} is not supported by the literal binder`)
}

/** `sql` with every {name:Type} replaced by the literal of params[name]. */
export function bindLiterals(sql: string, params: Params): string {
  return sql.replace(PLACEHOLDER, (_, name: string, type: string) => {
    if (!Object.hasOwn(params, name)) throw new QueryParameterError(`query parameter ${name} is not given`)
    return literal(params[name], type.trim(), name)
  })
}
