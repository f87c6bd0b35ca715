// npm run lock: updates package-lock.json so that `npm ci` takes it. npm 11.16 and later leave an
// optional dependency that is not published (chdb names engine packages for platforms it has not
// released) out of the lock file, then refuse that same file in `npm ci` ("Missing: ... from lock
// file", npm/cli#9846). Earlier npm wrote an inert `{ "optional": true }` entry for such a package;
// this writes the same, so `npm ci` installs from the file.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { type LockEntry, missingOptional } from './lock-optional.ts'

execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], {
  stdio: 'inherit',
})
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockEntry> }
const added = missingOptional(lock.packages)
for (const key of added) lock.packages[key] = { optional: true }
// npm keeps the entries sorted by path, the root first.
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b, 'en'))),
)
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`)
console.log(
  added.length
    ? `placeholders for unpublished optional packages: ${added.join(', ')}`
    : 'no unpublished optional packages',
)
