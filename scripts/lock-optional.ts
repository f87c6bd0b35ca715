// The optional dependencies a package-lock.json names but holds no entry for (see scripts/lock.ts).
export type LockEntry = { optional?: boolean; optionalDependencies?: Record<string, string> }

/** Where npm would find `name` from the package at `from`: its own node_modules, then each one above. */
function resolves(packages: Record<string, LockEntry>, from: string, name: string): boolean {
  for (let at = from; ; at = at.slice(0, Math.max(0, at.lastIndexOf('/node_modules/')))) {
    if (packages[`${at ? `${at}/` : ''}node_modules/${name}`]) return true
    if (at === '') return false
  }
}

/** The lock paths of optional dependencies with no entry: where `npm ci` would refuse the file. */
export function missingOptional(packages: Record<string, LockEntry>): string[] {
  return Object.entries(packages).flatMap(([path, entry]) =>
    Object.keys(entry.optionalDependencies ?? {})
      .filter((name) => !resolves(packages, path, name))
      .map((name) => `${path ? `${path}/` : ''}node_modules/${name}`),
  )
}
