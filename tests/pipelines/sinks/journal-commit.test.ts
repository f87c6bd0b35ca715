// The intake journal's group commit, watched at the file handles: durable() resolves only after the
// data's datasync (and, for a new file, the folder's sync), and a segment let go while a later
// part of the same group is being written is let go once (the journal's list and its bytes stay
// those of the files on disk).
import { readdirSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import type { SourceEvent } from '../../../pipelines/schema.ts'
import { Journal, SEGMENT_MS } from '../../../pipelines/sinks/journal.ts'
import { IntakeSettlement } from '../../../pipelines/transforms/admit.ts'
import { tmpDir } from '../../support/tmp.ts'

const dirs = tmpDir('journal-commit')
afterAll(() => dirs.remove())
afterEach(() => vi.restoreAllMocks())
let n = 0
const folder = () => join(dirs.path, String(n++))
const event = (i: number): SourceEvent => ({
  kind: 'delete',
  postId: `webhook:${i}`,
  at: new Date(Date.UTC(2026, 10, 23, 10, 0, i % 60)).toISOString(),
})
const files = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.ndjson'))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The prototype every FileHandle shares: its datasync and sync are what make a write durable. */
async function fileHandlePrototype(dir: string) {
  const handle = await open(join(dir, 'probe'), 'w')
  await handle.close()
  return Object.getPrototypeOf(handle) as { datasync(): Promise<void>; sync(): Promise<void> }
}

describe("the intake journal's group commit", () => {
  it("resolves durable() only after the datasync, and for a new file the folder's sync, have completed", async () => {
    const dir = folder()
    const journal = new Journal(dir, 1 << 30)
    const proto = await fileHandlePrototype(dir)
    const log: string[] = []
    const { datasync, sync } = proto
    // Each slowed down, so that a durable() that did not wait for it would resolve first.
    vi.spyOn(proto, 'datasync').mockImplementation(async function (this: unknown) {
      await sleep(30)
      await datasync.call(this)
      log.push('datasync')
    })
    vi.spyOn(proto, 'sync').mockImplementation(async function (this: unknown) {
      await sleep(30)
      await sync.call(this)
      log.push('folder sync')
    })
    journal.append([event(1)])
    await journal.durable().then(() => log.push('durable'))
    expect(log).toEqual(['datasync', 'folder sync', 'durable'])
    // The same file again: its name is durable already, its data is not.
    log.length = 0
    journal.append([event(2)])
    await journal.durable().then(() => log.push('durable'))
    expect(log).toEqual(['datasync', 'durable'])
    vi.restoreAllMocks()
    await journal.close()
  })

  it('lets a segment go once when its last event settles while the next segment of its group is written', async () => {
    const dir = folder()
    const journal = new Journal(dir, 1 << 30)
    const settlement = new IntakeSettlement(journal)
    // Event 1 goes on to a later stage (settled later); event 2 to none (settled at once).
    journal.reader = (e, segment) => {
      settlement.follow(e, segment, () => {
        if (e.kind === 'delete' && e.postId === 'webhook:1') settlement.taken('delete:webhook:1')
      })
      return true
    }
    const proto = await fileHandlePrototype(dir)
    const { datasync } = proto
    let calls = 0
    vi.spyOn(proto, 'datasync').mockImplementation(async function (this: unknown) {
      // The second segment's datasync: the first one's part is written, and its event settles now.
      if (++calls === 2) settlement.settled('delete:webhook:1')
      await datasync.call(this)
    })
    // One group of two parts: the tail of a segment sealed by age, and the head of the next one.
    journal.append([event(1)])
    journal.tick(Date.now() + SEGMENT_MS)
    journal.append([event(2)])
    await journal.durable()
    expect(calls).toBe(2)
    vi.restoreAllMocks()
    // The first segment went; the second is still the journal's, with its bytes, on disk.
    expect(files(dir)).toHaveLength(1)
    expect(journal.pending()).toBe(1)
    expect(journal.bytes()).toBe(statSync(join(dir, files(dir)[0]!)).size)
    // And it goes too, once old enough: nothing is left behind, nothing counted twice.
    journal.tick(Date.now() + SEGMENT_MS)
    expect(files(dir)).toEqual([])
    expect(journal.pending()).toBe(0)
    expect(journal.bytes()).toBe(0)
    await journal.close()
  })
})
