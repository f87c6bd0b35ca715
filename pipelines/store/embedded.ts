// Embedded mode: ClickHouse in-process through chdb, data under DATA_DIR. libchdb binds one data
// directory per process, so this class is the only place that opens a chdb Session. chdb binds
// query parameters itself.
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { Session } from 'chdb'
import { toJsonEachRow } from './rows.ts'
import { SqlStore } from './sql-store.ts'

export class EmbeddedStore extends SqlStore {
  readonly mode = 'embedded'
  private readonly session: Session

  constructor(readonly dataDir: string) {
    super()
    const path = resolve(dataDir, 'clickhouse')
    mkdirSync(path, { recursive: true })
    this.session = new Session(path)
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

  protected async rows<T>(sql: string, params?: Record<string, unknown>): Promise<T[]> {
    const result = params
      ? await this.session.queryBindAsync(sql, params, { format: 'JSONEachRow' })
      : await this.session.queryAsync(sql, { format: 'JSONEachRow' })
    const text = result.text().trim()
    return text ? text.split('\n').map((line) => JSON.parse(line) as T) : []
  }
}
