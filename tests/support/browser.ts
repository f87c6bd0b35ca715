// Debian's Chromium driven by playwright-core. Outside CI a machine without Chromium skips the
// browser suites; under CI (CI=true) a missing Chromium is a failure, never a skip.
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const hasChromium = existsSync(CHROMIUM)

if (!hasChromium && process.env.CI)
  throw new Error(`Chromium not found at ${CHROMIUM}: .ci/run installs it (apt-get install chromium)`)

/** `args`: Chromium's further switches (`--host-resolver-rules=MAP name 127.0.0.1`: a host name for loopback). */
export function launchBrowser(args: readonly string[] = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...args,
    ],
  })
}
