// The sink's spool when the dead-letter record cannot be written (a full disk): a spool file with a
// line to refuse stays whole, the sink goes on (its stream does not die of the failed flush), and
// the file drains once the record can be written.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { of, Subject } from 'rxjs'
import { afterAll, describe, expect, it } from 'vitest'
import { clickhouseSink } from '../../../pipelines/sinks/clickhouse.ts'
import type { DeadLetter } from '../../../pipelines/sinks/deadletter.ts'
import { Spool } from '../../../pipelines/sinks/spool.ts'
import { tmpDir } from '../../support/tmp.ts'

const dir = tmpDir('spool-records')
afterAll(() => dir.remove())

describe("the sink's spool while dead-letter records cannot be written", () => {
  it('keeps the file whole, goes on, and drains it once the record is on disk', async () => {
    const folder = join(dir.path, 'posts')
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, '000000000001.ndjson'), '{bad\n"ok"\n')
    let diskFull = true
    const deadLetter: DeadLetter = {
      record: () => {},
      counts: () => ({}),
      flush: () => (diskFull ? Promise.reject(new Error('ENOSPC: no space left on device')) : Promise.resolve()),
    }
    const stored: string[] = []
    const errors: unknown[] = []
    let failed: unknown
    // New input keeps coming (the sink is running): drains are tried again, with backoff.
    const input = new Subject<string>()
    const done = new Promise<void>((complete) =>
      input
        .pipe(
          clickhouseSink('posts', (batch: string[]) => of(stored.push(...batch)), {
            deadLetter,
            spool: new Spool<string>(folder, 1 << 20),
            onDrainError: (e) => errors.push(e),
          }),
        )
        .subscribe({ complete, error: (e: unknown) => ((failed = e), complete()) }),
    )
    await new Promise((r) => setTimeout(r, 100))
    expect(failed).toBeUndefined()
    expect(errors.length).toBeGreaterThan(0)
    expect(readFileSync(join(folder, '000000000001.ndjson'), 'utf8')).toBe('{bad\n"ok"\n')
    expect(stored).toEqual([])
    diskFull = false
    await expect.poll(() => stored, { timeout: 10_000, interval: 50 }).toEqual(['ok'])
    input.complete()
    await done
    expect(failed).toBeUndefined()
  })
})
