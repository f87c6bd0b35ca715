// What one API read may cost the store, in both modes: a time limit, a row limit on list answers,
// and (embedded) how many reads run at once beside the sink's writes. A read past a limit fails
// with a QueryLimitError that says which limit, never an engine's internals.
/** Seconds one API read may run (ClickHouse's max_execution_time; under the HTTP client's 10 s). */
export const READ_TIMEOUT_S = 8

/** Rows a list answer (a page, a scan's page, windows, a series) may hold: a backstop beside each route's own bound. */
export const MAX_RESULT_ROWS = 500_000

/** The nice value of an embedded read's threads (0 to 19; higher yields more). */
export const READ_NICE = 10

/**
 * The longest SQL text of an embedded read, values bound in (chdb's default is 256 KiB): a scan
 * page's engagement lookup names 5,000 post ids. Taken from the query's own SETTINGS.
 */
export const READ_MAX_QUERY_BYTES = 4_194_304

export interface ReadOptions {
  /** A list answer: at most this many rows (default MAX_RESULT_ROWS), else the read fails. */
  maxRows?: number
  /** Whom the read is for (read-gate.ts Reader): embedded reads take turns by it. */
  reader?: string | undefined
}

/**
 * The ClickHouse settings of an API read (names and values as 18.16 knows them). `overflow`
 * 'break' stops the read at a limit without an error (the caller tells a cut answer by its time
 * and rows, see embedded.ts); 'throw' fails it.
 */
export function readSettings(
  options: ReadOptions & { threads?: number; timeoutS?: number; overflow?: 'throw' | 'break'; nice?: number },
): Record<string, string | number> {
  const overflow = options.overflow ?? 'throw'
  return {
    max_execution_time: options.timeoutS ?? READ_TIMEOUT_S,
    timeout_overflow_mode: overflow,
    // Past the limit by one: an answer of exactly maxRows is whole.
    ...(options.maxRows !== undefined ? { max_result_rows: options.maxRows + 1, result_overflow_mode: overflow } : {}),
    ...(options.threads ? { max_threads: options.threads } : {}),
    // The read's threads yield the cores to the sink's and the event loop (Linux nice; not in 18.16).
    ...(options.nice ? { os_thread_priority: options.nice } : {}),
  }
}

export const timeoutError = (timeoutS = READ_TIMEOUT_S) =>
  new QueryLimitError(
    `the store's answer took longer than ${timeoutS} s, the most one read may take: narrow the range or the filters, or try again`,
    'timeout',
  )
export const rowsError = () =>
  new QueryLimitError(
    'the answer would hold more rows than one read may return: narrow the range or the filters',
    'rows',
  )

/** `sql` with `settings` in its SETTINGS clause (one is added, or the query's own extended). */
export function withSettings(sql: string, settings: Record<string, string | number>): string {
  const list = Object.entries(settings)
    .map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${v.replace(/[^a-z_]/g, '')}'`}`)
    .join(', ')
  const trimmed = sql.trimEnd()
  return /\bSETTINGS\s+\w+\s*=\s*[\w']+(\s*,\s*\w+\s*=\s*[\w']+)*$/.test(trimmed)
    ? `${trimmed}, ${list}`
    : `${trimmed}\nSETTINGS ${list}`
}

/** A read the store stopped: too slow, too big, or too many waiting. Its message is for the client. */
export class QueryLimitError extends Error {
  override name = 'QueryLimitError'
  constructor(
    message: string,
    /** `client`: the one client has as many reads waiting or running as it may (read-gate.ts). */
    readonly limit: 'timeout' | 'rows' | 'busy' | 'client',
  ) {
    super(message)
  }
}

// ClickHouse's codes: TIMEOUT_EXCEEDED, TOO_MANY_ROWS, TOO_MANY_ROWS_OR_BYTES.
const TIMEOUT = 159
const ROWS = [158, 396]

/** The limit a failed read ran into, as a QueryLimitError; anything else as it is. */
export function limitError(error: unknown, timeoutS = READ_TIMEOUT_S): unknown {
  const e = error as { clickhouseCode?: number; code?: string | number; message?: string; name?: string }
  const code = Number(e?.clickhouseCode ?? e?.code)
  const message = String(e?.message ?? '')
  // By code where the client gives one, else by the words of the engine or the HTTP client.
  if (
    code === TIMEOUT ||
    /\bCode: 159\b|TIMEOUT_EXCEEDED|Timeout exceeded|^Timeout error/.test(message) ||
    e?.name === 'ChdbTimeoutError'
  )
    return timeoutError(timeoutS)
  if (ROWS.includes(code) || /\bCode: (158|396)\b|TOO_MANY_ROWS|Limit for (result|rows)/.test(message))
    return rowsError()
  return error
}
