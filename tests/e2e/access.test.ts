// Access tokens in the browser: a wall link carrying a viewer token opens the wall read-only and
// the token leaves the address bar; a page without one asks for a token, and an admin's token
// brings the acknowledge button; the CSV download rides on the session cookie.
import { readFileSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Alert } from '../../pipelines/schema.ts'
import { AccessTokens, parseAuthTokens } from '../../server/access.ts'
import { hasChromium, launchBrowser } from '../support/browser.ts'
import { testApp } from '../support/server.ts'

const ADMIN = 'admin-0123456789abcdef'
const VIEWER = 'viewer-0123456789abcdef'

describe.skipIf(!hasChromium)('access tokens in Chromium', () => {
  let t: Awaited<ReturnType<typeof testApp>>
  let url: string
  let browser: Browser
  beforeAll(async () => {
    t = await testApp({ access: new AccessTokens(parseAuthTokens(`admin:${ADMIN},viewer:${VIEWER}`).tokens) })
    url = (await t.app.listen({ port: 0, host: '127.0.0.1' })).replace('127.0.0.1', 'localhost')
    const open: Alert = {
      id: 'Lumen:2026-11-30T10:00:00.000Z',
      brand: 'Lumen',
      at: new Date().toISOString(),
      severity: 'critical',
      state: 'open',
      title: 'Backlash: risk 80 for Lumen',
      why: { summary: 'negative mentions 5x their usual rate', terms: [], examplePostIds: [] },
    }
    t.view.applyAlert(open)
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('opens a wall link read-only, and takes its token out of the address bar', async () => {
    const page = await (await browser.newContext()).newPage()
    await page.goto(`${url}/#/wall?token=${VIEWER}`)
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 15_000 }).toBe('Live')
    expect(new URL(page.url()).hash).toBe('#/wall')
    expect(await page.getByTestId('role').textContent()).toBe('viewer')
    await expect.poll(() => page.getByTestId('alert').count()).toBe(1)
    expect(await page.getByTestId('alert').getByRole('button', { name: 'Acknowledge' }).count()).toBe(0)
    // A reload keeps the session (the cookie), though the link's token is gone.
    await page.reload()
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 15_000 }).toBe('Live')
    // A link to another view loses its token as well, and no filter written later brings it back.
    await page.goto(`${url}/#/explore?brand=Lumen&token=${VIEWER}`)
    await page.reload()
    expect(new URL(page.url()).hash).toBe('#/explore?brand=Lumen')
    await page.getByTestId('filter-q').fill('battery')
    await expect.poll(() => new URL(page.url()).hash).toMatch(/q=battery/)
    expect(page.url()).not.toContain(VIEWER)
    // The CSV link is a plain link: the cookie carries the token.
    await page.goto(`${url}/#/explore`)
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv').click()])
    expect(await download.failure()).toBeNull()
    // The file is the CSV itself, not a refusal saved under its name.
    expect(readFileSync((await download.path())!, 'utf8').split('\n')[0]).toMatch(/^\uFEFF?id,/)
    await page.context().close()
  })

  it('asks for a token without one, refuses a wrong one, and gives an admin the acknowledge button', async () => {
    const page = await (await browser.newContext()).newPage()
    await page.goto(`${url}/`)
    const signIn = page.getByTestId('sign-in')
    await expect.poll(() => signIn.count(), { timeout: 15_000 }).toBe(1)
    expect(await page.getByTestId('connection').textContent()).not.toBe('Live')
    await signIn.getByLabel('Token').fill('not-the-right-token')
    await signIn.getByRole('button', { name: 'Open' }).click()
    await expect.poll(() => signIn.getByRole('alert').textContent()).toMatch(/not valid here/)
    await signIn.getByLabel('Token').fill(ADMIN)
    await signIn.getByRole('button', { name: 'Open' }).click()
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 15_000 }).toBe('Live')
    expect(await page.getByTestId('role').textContent()).toBe('admin')
    await expect.poll(() => page.getByTestId('alert').getByRole('button', { name: 'Acknowledge' }).count()).toBe(1)
    // Signing out: the page asks again.
    await page.getByRole('button', { name: 'Sign out' }).click()
    await expect.poll(() => page.getByTestId('sign-in').count(), { timeout: 15_000 }).toBe(1)
    await page.context().close()
  })
})
