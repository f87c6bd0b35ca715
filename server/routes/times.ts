// Times in query strings, read as the store reads them: the schema's date-time format, a leap
// second as the last millisecond of its minute, a time before 1970 or after 2106 clamped into the
// store's years (nothing is stored outside them), and a 400 naming the parameter for the rest.
import { timeBound } from '../../pipelines/store/queries.ts'

export const isoTime = (name: string, value: string) => new Date(timeBound(name, value)).toISOString()

/** The query with its `from`, `to` and `asOf` (those given) as canonical UTC times. */
export function queryTimes<T extends { from?: string | undefined; to?: string | undefined; asOf?: string | undefined }>(
  query: T,
): T {
  const out = { ...query }
  for (const name of ['from', 'to', 'asOf'] as const) {
    const value = out[name]
    if (value !== undefined) out[name] = isoTime(name, value) as T[typeof name]
  }
  return out
}
