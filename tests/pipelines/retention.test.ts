// Retention drops whole day partitions older than the cutoff, in every day-partitioned table, and
// leaves the rest, aggregates included, untouched.
import { describe, expect, it } from 'vitest'
import { dropPartitionStatement } from '../../pipelines/store/queries.ts'
import { cutoffFor } from '../../pipelines/store/retention.ts'
import { launchDay } from '../../pipelines/sources/simulator/scenario.ts'
import { simulatorSource } from '../../pipelines/sources/simulator.ts'
import { runThrough } from '../support/fixtures.ts'
import { useEmbeddedStore } from '../support/store.ts'

const store = useEmbeddedStore('retention')

const day = (start: string) => simulatorSource({ scenario: launchDay({ brand: 'Lumen', competitors: ['Corvid', 'Nimbus'], start }), seed: 3, speed: Infinity, until: 20 * 60 })

describe('retention', () => {
  it('drops the day partitions older than the cutoff and keeps the newer ones', async () => {
    const now = Date.parse('2026-11-23T12:00:00Z')
    await runThrough(store, day('2026-10-01T10:00:00.000Z'))
    const old = await store.countPosts()
    await runThrough(store, day('2026-11-22T10:00:00.000Z'))
    const recent = (await store.countPosts()) - old
    expect(old).toBeGreaterThan(0)
    expect(recent).toBeGreaterThan(0)

    const dropped = await store.dropPartitionsBefore(cutoffFor(30, now))
    expect(dropped).toEqual([
      { table: 'brand_minute', partition: '2026-10-01' },
      { table: 'engagement', partition: '2026-10-01' },
      { table: 'posts', partition: '2026-10-01' },
    ])
    expect(await store.countPosts()).toBe(recent)
    const minutes = (await store.minuteAggregates({})).map((w) => w.minute)
    expect(minutes.every((m) => m.startsWith('2026-11-22'))).toBe(true)
    expect(await store.dropPartitionsBefore(cutoffFor(30, now))).toEqual([])
  })

  it('never splices anything but a table it owns and a day into the statement', () => {
    expect(dropPartitionStatement('posts', '2026-10-01')).toBe("ALTER TABLE posts DROP PARTITION '2026-10-01'")
    expect(() => dropPartitionStatement('posts', "2026-10-01'; DROP TABLE posts --")).toThrow('refusing')
    expect(() => dropPartitionStatement('system.users', '2026-10-01')).toThrow('refusing')
  })
})
