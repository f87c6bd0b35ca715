// A fresh data folder per test file, under the repo's .tmp/ (git-ignored), removed afterwards.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { resolve } from 'node:path'

export function tmpDir(name: string): { path: string; remove: () => void } {
  const root = resolve(import.meta.dirname, '../../.tmp')
  mkdirSync(root, { recursive: true })
  const path = mkdtempSync(resolve(root, `${name}-`))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}
