import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { README, withTable } from '../scripts/config-table.ts'

describe('README', () => {
  it('documents every setting as the config schema defines it (npm run docs:config)', () => {
    const readme = readFileSync(README, 'utf8')
    expect(readme).toBe(withTable(readme))
    for (const key of ['PORT', 'HOST', 'DATA_DIR', 'SOURCES', 'SIM_SPEED']) expect(readme).toContain(`| \`${key}\``)
  })
})
