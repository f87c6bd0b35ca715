// npm run bench:classify [-- --threads N --batches N --model DIR]
// Posts/s and p50/p99 batch latency, same model, same batches, rounds interleaved, medians quoted:
//  - the classifier as the server loads it (models/load.ts: for the shipped middle model, tokenize,
//    run, the flags; for a transformers.js model, prepare, tokenize, run, softmax, emoji, rules);
//  - raw onnxruntime-node fed by the same tokenizer (what any caller of the raw runtime must also
//    do): the ratio of the two is the wrapper's overhead;
//  - raw onnxruntime-node on batches tokenized beforehand (the model's own cost, for reference);
//  - the classifier reading as the pipeline does (models/read.ts: each post's language, then the
//    model on those it reads): what telling languages adds to the classifier's thread.
// Also the model's load time. Texts are the simulator's posts.
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import * as ort from 'onnxruntime-node'
import { readFileSync } from 'node:fs'
import { PreTrainedTokenizer } from '@huggingface/transformers'
import { loadModel, modelPath } from '../../models/load.ts'
import { readHere } from '../../models/read.ts'
import { postsOf, simulated } from '../../tests/support/fixtures.ts'
import { fmt, median, percentile } from './stats.ts'

const { values: args } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    batch: { type: 'string', default: '64' },
    batches: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
    model: { type: 'string', default: modelPath(undefined) },
  },
})
const threads = Number(args.threads)
const size = Number(args.batch)
const count = Number(args.batches)

const loadStart = performance.now()
const classifier = await loadModel(args.model, { threads })
const loadMs = performance.now() - loadStart
const session = await ort.InferenceSession.create(resolve(args.model, 'onnx/model.onnx'), {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
})

const texts = postsOf(simulated(48 * 3600)).map((p) => p.text)
if (texts.length < size * count) throw new Error(`only ${texts.length} texts for ${size * count}`)
const batches = Array.from({ length: count }, (_, i) => texts.slice(i * size, (i + 1) * size))

async function round(run: (i: number) => Promise<unknown>) {
  const latencies: number[] = []
  const start = performance.now()
  for (let i = 0; i < count; i++) {
    const t = performance.now()
    await run(i)
    latencies.push(performance.now() - t)
  }
  return { postsPerSecond: (count * size) / ((performance.now() - start) / 1000), latencies }
}

// The model folder's own tokenizer, as the classifier loads it.
const read = (file: string) => JSON.parse(readFileSync(resolve(args.model, file), 'utf8')) as object
const tokenizer = new PreTrainedTokenizer(read('tokenizer.json'), read('tokenizer_config.json'))
const feed = (batch: string[]) => {
  const encoded = tokenizer(batch, { padding: true, truncation: true }) as Record<
    string,
    { data: BigInt64Array; dims: number[] }
  >
  const out: Record<string, ort.Tensor> = {}
  for (const name of session.inputNames) out[name] = new ort.Tensor('int64', encoded[name]!.data, encoded[name]!.dims)
  return out
}
const feeds = batches.map((batch) => feed(batch))
const posts = batches.map((batch) => batch.map((text) => ({ text, declared: 'en' })))
const runs = {
  wrapper: (i: number) => classifier.classify(batches[i]!),
  tokenizedRaw: (i: number) => session.run(feed(batches[i]!)),
  raw: (i: number) => session.run(feeds[i]!),
  read: (i: number) => readHere(classifier, posts[i]!),
}
type Round = Awaited<ReturnType<typeof round>>
const results: Record<keyof typeof runs, Round[]> = { wrapper: [], tokenizedRaw: [], raw: [], read: [] }
for (const run of Object.values(runs)) await round(run) // warm-up
for (let r = 0; r < Number(args.rounds); r++)
  for (const [name, run] of Object.entries(runs)) results[name as keyof typeof runs].push(await round(run))

const summary = (name: string, rs: typeof results.wrapper) => {
  const pps = median(rs.map((r) => r.postsPerSecond))
  const all = rs.flatMap((r) => r.latencies)
  console.log(
    `${name.padEnd(22)} ${fmt(pps, 0).padStart(8)} posts/s   p50 ${fmt(percentile(all, 50), 2).padStart(7)} ms   p99 ${fmt(percentile(all, 99), 2).padStart(7)} ms`,
  )
  return pps
}
console.log(
  `model ${args.model}\nload ${fmt(loadMs, 0)} ms; ${count} batches of ${size}, ${threads} thread(s), median of ${args.rounds} rounds`,
)
const w = summary('classifier (wrapper)', results.wrapper)
const t = summary('tokenizer + raw ORT', results.tokenizedRaw)
const r = summary('raw ORT, pre-tokenized', results.raw)
console.log(
  `wrapper overhead over tokenizer + raw onnxruntime-node: ${fmt((t / w - 1) * 100)}% (time ratio ${fmt(t / w, 3)})`,
)
console.log(
  `for reference, over raw onnxruntime-node on pre-tokenized input: ${fmt((r / w - 1) * 100)}% (time ratio ${fmt(r / w, 3)})`,
)
const l = summary('languages + classifier', results.read)
console.log(
  `telling languages first: ${fmt((w / l - 1) * 100)}% more time a post than the classifier alone (time ratio ${fmt(w / l, 3)})`,
)
