// The dead-letter file on a real disk: batched appends, its bound, and a disk that refuses writes.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { DEAD_LETTER_FLUSH_MS, DeadLetterFile } from '../../../pipelines/sinks/deadletter.ts'
import { tmpDir } from '../../support/tmp.ts'

const dir = tmpDir('deadletter')
afterAll(() => dir.remove())
let n = 0
const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { stage: string; reason: string; payload: unknown })

describe('the dead-letter file', () => {
  it('writes a burst of records together, off the caller, and every one is on disk after flush', async () => {
    const path = join(dir.path, `dl-${++n}`, 'dead-letter.ndjson')
    const file = new DeadLetterFile(path)
    for (let i = 0; i < 5_000; i++) file.record('ingest', `line ${i}: not JSON`, `{bad ${i}`)
    // Nothing written synchronously: the stream does not wait for the disk.
    expect(() => statSync(path)).toThrow()
    await file.flush()
    const written = lines(path)
    expect(written).toHaveLength(5_000)
    expect(written[4_999]).toMatchObject({ stage: 'ingest', reason: 'line 4999: not JSON', payload: '{bad 4999' })
    expect(file.counts()).toEqual({ ingest: 5_000 })
    await file.close()
  })

  it('writes on its own within a moment, without a flush', async () => {
    const path = join(dir.path, `dl-${++n}`, 'dead-letter.ndjson')
    const file = new DeadLetterFile(path)
    file.record('store:posts', 'Code: 27', { id: 'x' })
    await new Promise((r) => setTimeout(r, DEAD_LETTER_FLUSH_MS * 5))
    expect(lines(path)).toHaveLength(1)
    await file.close()
  })

  it('stays within its bound: the file rotates, and only the newest files are kept', async () => {
    const folder = join(dir.path, `dl-${++n}`)
    const path = join(folder, 'dead-letter.ndjson')
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const file = new DeadLetterFile(path, 10_000, 2)
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 20; i++) file.record('ingest', `round ${round}`, 'x'.repeat(100))
      await file.flush()
    }
    await file.close()
    const said = stderr.mock.calls.map(([text]) => String(text))
    stderr.mockRestore()
    expect(readdirSync(folder).sort()).toEqual(['dead-letter.ndjson', 'dead-letter.ndjson.1', 'dead-letter.ndjson.2'])
    for (const name of readdirSync(folder)) expect(statSync(join(folder, name)).size).toBeLessThanOrEqual(10_000)
    // The newest records are in the live file; the deletion of the oldest was said.
    expect(lines(path).at(-1)!.reason).toBe('round 19')
    expect(said.some((text) => text.includes('deleting') && text.includes('dead-letter.ndjson.2'))).toBe(true)
  })

  it('keeps the records while the disk refuses them, and writes them once it takes them again', async () => {
    const folder = join(dir.path, `dl-${++n}`)
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    // A path whose folder is a file: every open fails, as on a disk that refuses writes.
    const file = new DeadLetterFile(join(folder, 'dead-letter.ndjson'))
    const fs = await import('node:fs')
    fs.rmSync(folder, { recursive: true })
    fs.writeFileSync(folder, 'not a folder')
    file.record('ingest', 'kept through the failure', 1)
    // What waits for the record (a journal segment, a spool file) is told it is not on disk.
    await expect(file.flush()).rejects.toThrow()
    const said = stderr.mock.calls.map(([text]) => String(text))
    expect(said.some((text) => text.includes('1 records wait'))).toBe(true)
    fs.rmSync(folder)
    fs.mkdirSync(folder)
    file.record('ingest', 'after', 2)
    await file.flush()
    stderr.mockRestore()
    expect(lines(join(folder, 'dead-letter.ndjson')).map((r) => r.reason)).toEqual([
      'kept through the failure',
      'after',
    ])
    await file.close()
  })
})

describe('the dead-letter file under a burst', () => {
  it('writes every record of a burst larger than a batch to the file, none to stderr', async () => {
    const path = join(dir.path, `dl-${++n}`, 'dead-letter.ndjson')
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const file = new DeadLetterFile(path)
    // Two webhook requests' worth of bad posts at once.
    for (let i = 0; i < 20_000; i++) file.record('ingest', `item ${i}`, { i })
    await file.close()
    const said = stderr.mock.calls.length
    stderr.mockRestore()
    expect(said).toBe(0)
    expect(lines(path)).toHaveLength(20_000)
  })
})
