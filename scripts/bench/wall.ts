// npm run bench:wall [-- --minutes 4 --speed 1200 --samples 8]
// Does the wall run for days without its memory growing? The whole stack (simulator, pipeline,
// embedded store, server) feeds a wall in Chromium at --speed simulated seconds a second, so a few
// real minutes are a day or more of launch-day traffic. After a warm-up, the page's JavaScript heap
// (after a forced garbage collection) and its DOM node count are sampled --samples times. The
// baseline is the first sample of the same run; reported: each sample, the simulated hours stored,
// and the ratio of the median of the last three samples to the baseline (target: bounded, a ratio
// near 1 however long it runs; growth with time would show as a ratio rising sample by sample).
// The lexicon classifier feeds it, so the pipeline keeps up with the speed: the wall's memory does
// not depend on which model scored the posts.
import { parseArgs } from 'node:util'
import { launchBrowser } from '../../tests/support/browser.ts'
import { startStack } from '../../tests/support/stack.ts'
import { fmt, median } from './stats.ts'

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '4' },
    speed: { type: 'string', default: '1200' },
    samples: { type: 'string', default: '8' },
  },
})
const [minutes, speed, samples] = [Number(args.minutes), Number(args.speed), Number(args.samples)]
const WARM_UP_MS = 30_000

const stack = await startStack({ speed, model: 'lexicon' })
const browser = await launchBrowser()
try {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } })
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('HeapProfiler.enable')
  await page.goto(stack.url)
  // Event time as far as the store has it: the newest stored post.
  const newest = async () =>
    Date.parse(
      ((await (await fetch(`${stack.url}/api/posts?pageSize=1`)).json()) as { posts: { createdAt: string }[] }).posts[0]
        ?.createdAt ?? '',
    )
  const sample = async () => {
    await cdp.send('HeapProfiler.collectGarbage')
    const heap = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }
    const dom = (await cdp.send('Memory.getDOMCounters')) as { nodes: number }
    return { heapMb: heap.usedSize / 2 ** 20, nodes: dom.nodes, eventTime: await newest() }
  }
  console.log(
    `wall in Chromium, stack at ${speed}x (lexicon); warm-up ${WARM_UP_MS / 1000} s, then ${samples} samples over ${minutes} min`,
  )
  await page.waitForTimeout(WARM_UP_MS)
  const taken: Awaited<ReturnType<typeof sample>>[] = []
  for (let i = 0; i < samples; i++) {
    if (i > 0) await page.waitForTimeout((minutes * 60_000) / (samples - 1))
    const s = await sample()
    taken.push(s)
    const hours = (s.eventTime - taken[0]!.eventTime) / 3_600_000
    console.log(
      `  sample ${i + 1}: heap ${fmt(s.heapMb, 2)} MB, ${s.nodes} DOM nodes, ${fmt(hours, 1)} simulated hours after the first`,
    )
  }
  const base = taken[0]!
  const last = taken.slice(-3)
  console.log(`\nbaseline (first sample): heap ${fmt(base.heapMb, 2)} MB, ${base.nodes} DOM nodes`)
  console.log(
    `end (median of the last 3): heap ${fmt(median(last.map((s) => s.heapMb)), 2)} MB, ${median(last.map((s) => s.nodes))} DOM nodes`,
  )
  console.log(
    `ratio end / baseline: heap ${fmt(median(last.map((s) => s.heapMb)) / base.heapMb, 2)}, DOM nodes ${fmt(median(last.map((s) => s.nodes)) / base.nodes, 2)}`,
  )
  console.log(`connection at the end: ${await page.getByTestId('connection').textContent()}`)
} finally {
  await browser.close()
  await stack.stop()
}
