#!/usr/bin/env node
// `npx undertow <command>`: the package's command line. Runs the TypeScript sources through tsx,
// as `npm start` does, so there is no separate build step.
import { register } from 'tsx/esm/api'

register()
try {
  const { main } = await import('./commands.ts')
  process.exitCode = await main(process.argv.slice(2))
} catch (error) {
  // A bad setting or input is the user's to fix: say what, without a stack trace.
  console.error(`undertow: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
}
