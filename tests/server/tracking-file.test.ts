// The tracking file (BRANDS_FILE): the documented example is valid and means what it says; every
// kind of mistake stops start-up with a message naming where it is.
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../server/config.ts'
import { readTrackingFile, trackingOf } from '../../server/tracking-file.ts'
import { loadTracking } from '../../server/tracking.ts'
import { exited, startMain } from '../support/main-process.ts'
import { tmpDir } from '../support/tmp.ts'

const EXAMPLE = resolve(import.meta.dirname, '../../docs/brands.example.yaml')
const dir = tmpDir('tracking-file')
afterAll(() => dir.remove())
let n = 0
const file = (text: string, ext = 'yaml') => {
  const path = join(dir.path, `brands-${n++}.${ext}`)
  writeFileSync(path, text)
  return path
}
const problemsOf = (text: string, ext?: string) => {
  try {
    readTrackingFile(file(text, ext))
  } catch (error) {
    return (error as Error).message
  }
  throw new Error('expected the file to be refused')
}

describe('tracking file', () => {
  it('reads the documented example into tracked brands, accounts lowercased and without @', () => {
    const tracking = trackingOf(readTrackingFile(EXAMPLE))
    expect(tracking.map((b) => b.name)).toEqual(['Lumen', 'Corvid', 'Nimbus'])
    expect(tracking[0]).toEqual({
      name: 'Lumen',
      handles: ['lumen.bsky.social', 'lumensupport.bsky.social', 'lumen@mastodon.social', 'lumen_hq'],
      keywords: ['Lumen', 'Lumen X2', 'lumenphone'],
      competitors: ['Corvid', 'Nimbus'],
    })
    expect(tracking[2]).toMatchObject({ handles: [], competitors: ['Lumen'] })
  })

  it('reads the same shape as JSON', () => {
    const path = file(
      JSON.stringify({
        brands: [{ name: 'Lumen', keywords: ['Lumen'], accounts: { bluesky: ['@Lumen.bsky.social', 'did:plc:abc'] } }],
      }),
      'json',
    )
    expect(trackingOf(readTrackingFile(path))).toEqual([
      { name: 'Lumen', handles: ['lumen.bsky.social', 'did:plc:abc'], keywords: ['Lumen'], competitors: [] },
    ])
  })

  it('names each unknown key and bad value with where it is', () => {
    const message = problemsOf(
      `brands:\n  - name: Lumen\n    keywords: []\n    acounts: {}\n  - name: ""\n    keywords: [Corvid]\n    accounts: { myspace: [x] }\nextra: 1\n`,
    )
    expect(message).toContain('/extra: unknown key')
    expect(message).toContain('/brands/0/acounts: unknown key')
    expect(message).toContain('/brands/0/keywords: must not have fewer than 1 items')
    expect(message).toContain('/brands/1/name: must not have fewer than 1 characters')
    expect(message).toContain('/brands/1/accounts/myspace: unknown key')
    expect(
      problemsOf('brands:\n  - name: Lumen\n    keywords: [Lumen]\n    accounts: { bluesky: ["two words"] }\n'),
    ).toContain('/brands/0/accounts/bluesky/0: must match pattern')
  })

  it('refuses duplicate brands, competitors it does not track, and blank keywords', () => {
    const message = problemsOf(
      'brands:\n  - { name: Lumen, keywords: [Lumen, " "], competitors: [Corvid, lumen] }\n  - { name: LUMEN, keywords: [x] }\n',
    )
    expect(message).toContain('/brands/1/name: "LUMEN" is already /brands/0')
    expect(message).toContain('/brands/0/competitors/0: "Corvid" is not a brand in this file')
    expect(message).toContain('/brands/0/competitors/1: a brand is not its own competitor')
    expect(message).toContain('/brands/0/keywords/1: blank')
  })

  it('says when the file is missing, is not YAML, or repeats a key', () => {
    expect(() => readTrackingFile(join(dir.path, 'missing.yaml'))).toThrow('cannot read it: ENOENT')
    expect(problemsOf('brands: [ {name: Lumen')).toContain('not YAML or JSON')
    expect(problemsOf('brands:\n  - name: Lumen\n    name: Corvid\n    keywords: [x]\n')).toContain('not YAML or JSON')
    expect(problemsOf('[1, 2]')).toContain('/: must be object')
  })

  it('replaces BRAND and COMPETITORS, and gives the simulator its first brand and two competitors', () => {
    expect(() => loadConfig({ BRANDS_FILE: EXAMPLE, BRAND: 'Other' })).toThrow('BRANDS_FILE names the brands')
    const config = loadConfig({ BRANDS_FILE: EXAMPLE, COMPETITORS: '' })
    expect(loadTracking(config)[0]!.handles).toEqual(
      expect.arrayContaining(['lumen.bsky.social', 'lumen', 'lumensupport']),
    )
    const single = file('brands:\n  - { name: Lumen, keywords: [Lumen] }\n')
    expect(() => loadTracking(loadConfig({ BRANDS_FILE: single }))).toThrow('exactly two of its competitors (got 0)')
    expect(loadTracking(loadConfig({ BRANDS_FILE: single, SOURCES: 'jetstream' }))).toHaveLength(1)
  })

  it('stops start-up on a bad tracking file, naming it', async () => {
    const bad = file('brands:\n  - name: Lumen\n    keywords: [Lumen]\n    competitor: [Corvid]\n')
    const app = startMain({ DATA_DIR: join(dir.path, 'data'), BRANDS_FILE: bad })
    expect(await exited(app.child)).toBe(1)
    expect(app.output()).toContain(`BRANDS_FILE ${bad}`)
    expect(app.output()).toContain('/brands/0/competitor: unknown key')
  })
})
