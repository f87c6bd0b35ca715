// Server mode: a ClickHouse server (or a cluster's entry point) over HTTP with @clickhouse/client.
// Parameters are rendered as checked literals (bind.ts) because the oldest server we support
// (18.16, Debian's) has no server-side parameters; current servers accept the same SQL.
import { createHash } from 'node:crypto'
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client'
import { bindLiterals } from './bind.ts'
import { limitError, type ReadOptions, readSettings } from './limits.ts'
import { SqlStore } from './sql-store.ts'

export interface ServerOptions {
  url: string
  user?: string
  password?: string
  database?: string
  /** Per request; a dead server must fail a write quickly so the sink can spool. */
  requestTimeoutMs?: number
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

export class ServerStore extends SqlStore {
  readonly mode = 'server'
  readonly database: string
  private readonly client: ClickHouseClient

  constructor(private readonly options: ServerOptions) {
    super()
    this.database = options.database ?? 'default'
    if (!IDENTIFIER.test(this.database))
      throw new Error(
        `CLICKHOUSE_DATABASE: ${JSON.stringify(this.database)} is not a plain identifier (letters, digits, _)`,
      )
    this.client = this.connect(this.database)
  }

  override async migrate(options: { through?: number } = {}): Promise<void> {
    if (this.database !== 'default') {
      const admin = this.connect('default')
      try {
        await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${this.database}` })
      } finally {
        await admin.close()
      }
    }
    await super.migrate(options)
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.client.ping()).success
    } catch {
      return false
    }
  }

  async close(): Promise<void> {
    await this.recounter.close()
    await this.client.close()
  }

  /** The server's version, e.g. "18.16.1". */
  async version(): Promise<string> {
    const [row] = await this.rows<{ v: string }>('SELECT version() AS v')
    return String(row?.v)
  }

  protected async exec(sql: string, params?: Record<string, unknown>): Promise<void> {
    await this.client.command({ query: params ? bindLiterals(sql, params) : sql })
  }

  /**
   * The query id is the hash of the rows' ids: if a retry comes while the first attempt still runs on the
   * server (the client gave up waiting, the server did not), the server refuses it (code 216, a
   * transient failure to the sink) instead of storing the rows twice; the next retry finds them.
   */
  protected async insertRows(table: string, rows: readonly object[]): Promise<void> {
    const values = rows as object[]
    // Rows with ids (posts, engagement, alerts) are named by them: no second serialisation.
    const names = values.map((row) => ('id' in row ? String((row as { id: unknown }).id) : JSON.stringify(row)))
    const queryId = `undertow-${table}-${createHash('sha1').update(names.join('\n')).digest('hex')}`
    await this.client.insert({ table, values, format: 'JSONEachRow', query_id: queryId })
  }

  /** Inserts are named by table (see insertRows): this process's, another worker's, or a failed one the server still runs. */
  protected insertInto(table: string): string {
    return `query_id LIKE 'undertow-${table}-%'`
  }

  /** Seconds an API read may run (limits.ts; tests lower it). */
  readTimeoutS: number | undefined

  protected async rows<T>(sql: string, params?: Record<string, unknown>, read?: ReadOptions): Promise<T[]> {
    const query = params ? bindLiterals(sql, params) : sql
    if (!read) return (await this.client.query({ query, format: 'JSONEachRow' })).json<T>()
    // The same limits as embedded, as request settings; the server itself shares its threads out.
    // The whole answer before the first byte: a limit hit half way is an HTTP error, not a cut body.
    const clickhouse_settings = {
      ...readSettings({ ...read, timeoutS: this.readTimeoutS }),
      wait_end_of_query: 1 as const,
    }
    try {
      return await (await this.client.query({ query, format: 'JSONEachRow', clickhouse_settings })).json<T>()
    } catch (error) {
      throw limitError(error, this.readTimeoutS)
    }
  }

  private connect(database: string): ClickHouseClient {
    return createClient({
      url: this.options.url,
      username: this.options.user ?? 'default',
      password: this.options.password ?? '',
      database,
      request_timeout: this.options.requestTimeoutMs ?? 10_000,
      // The duplicate check names a whole batch of ids (5,000, about 250 KiB of SQL): past the
      // default limit of 256 KiB.
      clickhouse_settings: { max_query_size: '4194304' },
      // The sink retries and spools; the client's own logging of each failed request would only
      // repeat what the sink reports.
      log: { level: ClickHouseLogLevel.OFF },
    })
  }
}
