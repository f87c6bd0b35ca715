// The store and its spools, as configuration chooses: embedded (chdb under DATA_DIR) unless
// CLICKHOUSE_URL names a server.
import { resolve } from 'node:path'
import type { Alert, PostDeletion, ScoredPost, AttributedEngagement } from '../pipelines/schema.ts'
import { Journal } from '../pipelines/sinks/journal.ts'
import { Spool } from '../pipelines/sinks/spool.ts'
import { EmbeddedStore } from '../pipelines/store/embedded.ts'
import { ServerStore } from '../pipelines/store/server.ts'
import type { Store } from '../pipelines/store/store.ts'
import type { Spools } from '../pipelines/contract.ts'
import type { Config } from './config.ts'

export function openStore(config: Config): Store {
  if (!config.CLICKHOUSE_URL) return new EmbeddedStore(config.DATA_DIR)
  const store = new ServerStore({
    url: config.CLICKHOUSE_URL,
    user: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: config.CLICKHOUSE_DATABASE,
  })
  // With a bus, several workers write the same tables.
  store.sharedWriters = config.BUS_URL !== ''
  return store
}

/** Where the store is, for logs and messages (never the password). */
/** The store as configured, migrated to the current schema; a store that cannot be is closed and said why. */
export async function prepareStore(config: Config): Promise<Store> {
  const store = openStore(config)
  try {
    await store.migrate()
  } catch (error) {
    await store.close().catch(() => {})
    throw new Error(
      `cannot prepare the store (${describeStore(config)}): ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  return store
}

export function describeStore(config: Config): string {
  if (!config.CLICKHOUSE_URL) return `embedded at ${resolve(config.DATA_DIR, 'clickhouse')}`
  const url = new URL(config.CLICKHOUSE_URL)
  url.username = ''
  url.password = ''
  return `server at ${url.origin}, database ${config.CLICKHOUSE_DATABASE}`
}

/**
 * The intake journal (pipelines/sinks/journal.ts): every event is on disk before it is acknowledged,
 * until it is stored. In the folder the intake spool used: files it left are read first. None when
 * spooling is off (SPOOL_MAX_BYTES=0): events are then in memory only until stored.
 */
export function openIntake(config: Config): Journal | undefined {
  return config.SPOOL_MAX_BYTES === 0
    ? undefined
    : new Journal(resolve(config.DATA_DIR, 'spool', 'intake'), config.SPOOL_MAX_BYTES, {
        segmentMs: config.INTAKE_SEGMENT_MS,
      })
}

/** One spool per table under DATA_DIR/spool (pipelines/contract.ts, Spools); none when SPOOL_MAX_BYTES is 0. */
export function openSpools(config: Config): Spools {
  if (config.SPOOL_MAX_BYTES === 0) return {}
  const dir = (table: string) => resolve(config.DATA_DIR, 'spool', table)
  return {
    posts: new Spool<ScoredPost>(dir('posts'), config.SPOOL_MAX_BYTES),
    engagement: new Spool<AttributedEngagement>(dir('engagement'), config.SPOOL_MAX_BYTES),
    deletions: new Spool<PostDeletion>(dir('post_deletions'), config.SPOOL_MAX_BYTES),
    alerts: new Spool<Alert>(dir('alerts'), config.SPOOL_MAX_BYTES),
  }
}
