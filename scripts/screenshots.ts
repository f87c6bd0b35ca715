// Regenerates docs/screenshots/: the wall at 1080p and at 4K, the explorer, the leadership view
// and the alerts, after about an hour of simulated launch day with its backlash moved past the
// risk baselines' 45-minute warm-up, so the banner shows. Run: npm run screenshots (needs Chromium).
import { resolve } from 'node:path'
import { launchBrowser } from '../tests/support/browser.ts'
import { startStack } from '../tests/support/stack.ts'

const OUT = resolve(import.meta.dirname, '../docs/screenshots')
const SPEED = 90
const stack = await startStack({ speed: SPEED, scenario: { launchAt: 20 * 60, backlashAt: 52 * 60 } })
const browser = await launchBrowser()
const settle = 2_000
try {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } })
  await page.goto(stack.url)
  // 58 simulated minutes: the launch, then six minutes of the backlash.
  await page.waitForTimeout((58 * 60 * 1000) / SPEED)
  await page.screenshot({ path: resolve(OUT, 'wall-1080p.png') })
  await page.setViewportSize({ width: 3840, height: 2160 })
  await page.waitForTimeout(settle)
  await page.screenshot({ path: resolve(OUT, 'wall-4k.png') })
  await page.setViewportSize({ width: 1920, height: 1080 })
  for (const [view, file] of [
    ['explore?labels=negative,neutral&intents=question,suggestion', 'explorer'],
    ['leadership', 'leadership'],
    ['alerts', 'alerts'],
  ] as const) {
    await page.goto(`${stack.url}/#/${view}`)
    await page.waitForTimeout(settle)
    await page.screenshot({ path: resolve(OUT, `${file}.png`) })
  }
  console.log(`screenshots written to ${OUT}`)
} finally {
  await browser.close()
  await stack.stop()
}
