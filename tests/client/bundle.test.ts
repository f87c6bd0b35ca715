// The wall's bundle as `npm run build:client` writes it (npm test builds it first): it takes the
// server's shapes as types only, so no TypeBox (nor any other server module) ships to the browser.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const ASSETS = join(import.meta.dirname, '../../client/dist/assets')

describe('the wall bundle', () => {
  const scripts = readdirSync(ASSETS).filter((name) => name.endsWith('.js'))
  const code = scripts.map((name) => readFileSync(join(ASSETS, name), 'utf8')).join('\n')

  it('is built', () => {
    expect(scripts.length).toBeGreaterThan(0)
    // A marker of the wall's own code, so that the checks below read the real bundle.
    expect(code).toContain('snapshot.v1')
  })

  it('holds no TypeBox: every TypeBox schema carries the `~kind` marker', () => {
    expect(code).not.toContain('~kind')
  })

  it('holds no Node.js module', () => {
    expect(code).not.toMatch(/["']node:[a-z_]+["']/)
  })
})
