// The Node.js version is said once (package.json engines); what else names it must agree, and the
// lock file must be one `npm ci` takes (CI pipelines and the Docker build use it).
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type LockEntry, missingOptional } from '../../scripts/lock-optional.ts'

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  engines: { node: string }
  devDependencies: Record<string, string>
}
const major = /^>=(\d+)$/.exec(pkg.engines.node)?.[1]

describe('the declared Node.js version', () => {
  it('is one LTS major and up', () => {
    expect(major, `engines.node ${pkg.engines.node} should read ">=N"`).toBeDefined()
    // Even majors are the LTS lines.
    expect(Number(major) % 2).toBe(0)
  })

  it('is the Docker image base and the Node types', () => {
    expect(readFileSync('Dockerfile', 'utf8')).toMatch(new RegExp(`^FROM node:${major}-bookworm-slim$`, 'm'))
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${major}\\.`))
  })
})

describe('the lock file', () => {
  it('holds every optional dependency, so npm ci takes it (npm run lock)', () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockEntry> }
    expect(missingOptional(lock.packages)).toEqual([])
    // And the check sees a missing one.
    const { 'node_modules/chdb/node_modules/@chdb/lib-darwin-arm64': _gone, ...without } = lock.packages
    expect(missingOptional(without)).toEqual(['node_modules/chdb/node_modules/@chdb/lib-darwin-arm64'])
  })

  it('is installed with npm ci by the Docker build and CI', () => {
    expect(readFileSync('Dockerfile', 'utf8')).toMatch(/^RUN npm ci\b/m)
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^npm ci\b/m)
  })
})
