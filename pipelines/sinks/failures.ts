import { QueryParameterError } from '../store/bind.ts'

// Tells a write that failed because of the data (retrying cannot help: find the bad rows and
// dead-letter them) from one that failed because of the store or the network (retry with backoff).

// ClickHouse error codes that mean the rows themselves are wrong.
const BAD_DATA = new Set([
  6, // CANNOT_PARSE_TEXT
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  457, // BAD_QUERY_PARAMETER (a value chdb cannot bind as its type)
  691, // UNKNOWN_ELEMENT_OF_ENUM
])

/**
 * The ClickHouse error code: chdb's typed errors carry it as a number, @clickhouse/client's as a
 * string `code`, and the message says "Code: N." (current servers) or "Code: N," (18.x).
 */
export function clickhouseCode(error: unknown): number | undefined {
  const e = error as { clickhouseCode?: unknown; code?: unknown; message?: unknown } | null
  if (typeof e?.clickhouseCode === 'number') return e.clickhouseCode
  if (typeof e?.code === 'string' && /^\d+$/.test(e.code)) return Number(e.code)
  const match = /\bCode: (\d+)[.,]/.exec(String(e?.message ?? error))
  return match ? Number(match[1]) : undefined
}

// 18.x reports an unknown Enum element as a LOGICAL_ERROR (49), a code that otherwise means a
// server bug; only that message makes it bad data.
const UNKNOWN_ENUM_ELEMENT = /Unknown element '.*' for type Enum/

export function isBadData(error: unknown): boolean {
  if (error instanceof QueryParameterError) return true
  const code = clickhouseCode(error)
  if (code === 49) return UNKNOWN_ENUM_ELEMENT.test(String((error as { message?: unknown } | null)?.message ?? error))
  return code !== undefined && BAD_DATA.has(code)
}
