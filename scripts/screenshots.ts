// Regenerates docs/screenshots/: the wall at 1080p and at 4K after ~35 simulated minutes of launch
// day (the launch and the start of the backlash). Run: npm run screenshots (needs Chromium).
import { resolve } from 'node:path'
import { launchBrowser } from '../tests/support/browser.ts'
import { startStack } from '../tests/support/stack.ts'

const OUT = resolve(import.meta.dirname, '../docs/screenshots')
const stack = await startStack({ speed: 60 })
const browser = await launchBrowser()
try {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } })
  await page.goto(stack.url)
  await page.waitForTimeout(35_000)
  await page.screenshot({ path: resolve(OUT, 'wall-1080p.png') })
  await page.setViewportSize({ width: 3840, height: 2160 })
  await page.waitForTimeout(1_000)
  await page.screenshot({ path: resolve(OUT, 'wall-4k.png') })
  console.log(`screenshots written to ${OUT}`)
} finally {
  await browser.close()
  await stack.stop()
}
