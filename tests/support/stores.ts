// The store modes a suite runs over: embedded (chdb) always, and server mode against a real
// ClickHouse server process where one is installed (always under CI). Each file gets its own chdb
// folder and its own server process.
import { CLICKHOUSE_SERVER, useClickHouseServer } from './clickhouse-server.ts'
import { useEmbeddedStore } from './store.ts'
import type { SqlStore } from '../../pipelines/store/sql-store.ts'
import { beforeAll } from 'vitest'

export interface StoreUnderTest {
  name: string
  /** The migrated store, ready once the suite's hooks ran. */
  store: () => SqlStore
}

export function storesUnderTest(name: string): StoreUnderTest[] {
  const embedded = useEmbeddedStore(name)
  const modes: StoreUnderTest[] = [{ name: 'embedded', store: () => embedded }]
  if (CLICKHOUSE_SERVER) {
    const server = useClickHouseServer(name)
    let store: SqlStore | undefined
    beforeAll(async () => {
      store = server.store(name.replace(/\W/g, '_'))
      await store.migrate()
    })
    modes.push({ name: 'server', store: () => store! })
  } else if (process.env.CI) {
    modes.push({
      name: 'server',
      store: () => {
        throw new Error('clickhouse-server is not installed; .ci/run installs it with apt-get')
      },
    })
  } else {
    console.warn(`\n[notice] ${name}: server-mode cases skipped, clickhouse-server is not installed (CI installs it)\n`)
  }
  return modes
}
