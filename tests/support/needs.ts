// A describe block that needs a program Debian installs (clickhouse-server, nats-server,
// redis-server): skipped with a notice where it is missing, failing under CI (where .ci/run
// installs it), so that nothing is skipped silently there.
import { describe, it } from 'vitest'

export function describeNeeding(program: string, present: boolean, name: string, body: () => void): void {
  if (present) {
    describe(name, body)
  } else if (process.env.CI) {
    describe(name, () => {
      it(`needs ${program}`, () => {
        throw new Error(`${program} is not installed; .ci/run installs it with apt-get`)
      })
    })
  } else {
    console.warn(
      `\n[notice] skipping "${name}": ${program} is not installed (apt-get install ${program}; CI installs it)\n`,
    )
    describe.skip(name, body)
  }
}
