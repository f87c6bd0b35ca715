import { launchBrowser } from '../tests/support/browser.ts'
const [url, out, w, h] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4] ?? 1920), Number(process.argv[5] ?? 1080)]
const browser = await launchBrowser()
const page = await browser.newPage({ viewport: { width: w, height: h } })
page.on('pageerror', (e) => console.log('pageerror:', e.message))
await page.goto(url)
await page.waitForTimeout(Number(process.env.WAIT ?? 4000))
await page.screenshot({ path: out })
await browser.close()
