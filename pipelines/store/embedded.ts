// Embedded mode: ClickHouse in-process through chdb, data under DATA_DIR. libchdb binds one data
// directory per process, so this class is the only place that opens chdb Sessions: one for writes
// (the sink, recounts, migrations) and one for API reads. chdb binds the write connection's
// query parameters itself; API reads are bound here (bind.ts), see `rows`.
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { Session } from 'chdb'
import { bindLiterals } from './bind.ts'
import {
  limitError,
  READ_MAX_QUERY_BYTES,
  READ_NICE,
  READ_TIMEOUT_S,
  type ReadOptions,
  readSettings,
  rowsError,
  timeoutError,
  withSettings,
} from './limits.ts'
import { ReadGate } from './read-gate.ts'
import { toJsonEachRow } from './rows.ts'
import { SqlStore } from './sql-store.ts'

export class EmbeddedStore extends SqlStore {
  readonly mode = 'embedded'
  private readonly session: Session
  /**
   * A chdb connection runs one call at a time, and each call waiting for it holds one of libuv's
   * four threads (shared with the file system): twenty readers on the sink's connection would
   * queue it behind them. API reads have connections of their own, one per slot of the gate, take
   * turns for them (bounded and fair, read-gate.ts) and run on one thread each; the sink's calls
   * never wait for a read.
   */
  readonly reads: ReadGate
  private readonly readSessions: Session[]
  /** The read connections no read holds now: the gate lets no more reads run than there are. */
  private readonly idleReadSessions: Session[]
  /** Seconds an API read may run (limits.ts; tests lower it). */
  readTimeoutS: number | undefined

  /** `readSlots`: reads at once (default READ_SLOTS; benchmarks compare). */
  constructor(
    readonly dataDir: string,
    options: { readSlots?: number } = {},
  ) {
    super()
    this.reads = new ReadGate(options.readSlots)
    const path = resolve(dataDir, 'clickhouse')
    mkdirSync(path, { recursive: true })
    this.session = new Session(path)
    this.readSessions = Array.from({ length: this.reads.slots }, () => new Session(path))
    this.idleReadSessions = [...this.readSessions]
  }

  async ping(): Promise<boolean> {
    try {
      await this.session.queryAsync('SELECT 1')
      return true
    } catch {
      return false
    }
  }

  async close(): Promise<void> {
    await this.recounter.close()
    for (const session of this.readSessions) session.close()
    this.session.close()
  }

  /** For benchmarks and tests: a statement run as given. */
  async run(sql: string): Promise<void> {
    await this.session.queryAsync(sql)
  }

  protected async exec(sql: string, params?: Record<string, unknown>): Promise<void> {
    await (params ? this.session.queryBindAsync(sql, params) : this.session.queryAsync(sql))
  }

  /** chdb runs queries on worker threads, side by side: another sink's insert may be running. */
  protected insertInto(table: string): string {
    return `query LIKE 'INSERT INTO ${table} %'`
  }

  protected async insertRows(table: string, rows: readonly object[]): Promise<void> {
    await this.session.insert({ table, format: 'JSONEachRow', values: toJsonEachRow(rows) })
  }

  protected async rows<T>(sql: string, params?: Record<string, unknown>, read?: ReadOptions): Promise<T[]> {
    if (!read) return (await this.query<T>(this.session, sql, params)).rows
    // 'break', not 'throw': chdb hands the output of a query that fails half way to its session's
    // next query (chdb 3.4). A read cut at a limit ends cleanly, and is told by its time or rows here.
    const timeoutS = this.readTimeoutS ?? READ_TIMEOUT_S
    // Bound on our side (checked literals, as in server mode), never by chdb: chdb 3.4 runs every
    // query with parameters, on any connection, one at a time process-wide (its parameter state
    // is not per connection), so an 8 s read would hold up the sink's lookups for 8 s. The
    // settings go in before the values, so no value can pass for the SETTINGS clause.
    const settings = {
      ...readSettings({ ...read, threads: 1, nice: READ_NICE, timeoutS, overflow: 'break' }),
      max_query_size: READ_MAX_QUERY_BYTES,
    }
    const limited = bindLiterals(withSettings(sql, settings), params ?? {})
    let answer: { rows: T[]; elapsedS: number }
    try {
      answer = await this.reads.read(async () => {
        const session = this.idleReadSessions.pop()!
        try {
          return await this.query<T>(session, limited)
        } finally {
          this.idleReadSessions.push(session)
        }
      }, read.reader)
    } catch (error) {
      throw limitError(error, timeoutS)
    }
    if (answer.elapsedS >= timeoutS) throw timeoutError(timeoutS)
    if (read.maxRows !== undefined && answer.rows.length > read.maxRows) throw rowsError()
    return answer.rows
  }

  private async query<T>(
    session: Session,
    sql: string,
    params?: Record<string, unknown>,
  ): Promise<{ rows: T[]; elapsedS: number }> {
    const result = params
      ? await session.queryBindAsync(sql, params, { format: 'JSONEachRow' })
      : await session.queryAsync(sql, { format: 'JSONEachRow' })
    const text = result.text().trim()
    return { rows: text ? text.split('\n').map((line) => JSON.parse(line) as T) : [], elapsedS: result.elapsed }
  }
}
