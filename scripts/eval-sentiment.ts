// npm run eval:sentiment [-- FILE] [-- --model DIR|HUB_ID]
// Macro-averaged recall (the target), macro F1, accuracy and the confusion matrix of the classifier
// on labelled posts: FILE in `id<TAB>label<TAB>text`, or by default the dev split that training
// held out (rebuilt from ../shared/data/sentiment by models/training/dump_dev.py; never stored).
import { execFileSync } from 'node:child_process'
import { LABELS } from '../pipelines/vocabulary.ts'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { Label } from '../pipelines/schema.ts'
import { loadClassifier } from '../models/load.ts'
import { type LabelledPost, parseTsv } from '../models/tsv.ts'

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { model: { type: 'string' }, batch: { type: 'string', default: '64' } },
})

function devSplit(): LabelledPost[] {
  const script = resolve(import.meta.dirname, '../models/training/dump_dev.py')
  // Standard library only: any python3 will do, no torch needed. Its text is already decoded.
  const lines = execFileSync('python3', [script], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
    .trim()
    .split('\n')
  return lines.map((line) => JSON.parse(line) as LabelledPost)
}

const source = positionals[0] ?? 'the dev split (models/training/dump_dev.py)'
const { posts, skipped } = positionals[0]
  ? parseTsv(readFileSync(positionals[0], 'utf8'), source)
  : { posts: devSplit(), skipped: [] }
for (const s of skipped.slice(0, 5)) console.error(`skipped ${s}`)
if (posts.length === 0) throw new Error(`${source}: no labelled posts`)

const classifier = await loadClassifier(args.model ?? process.env.SENTIMENT_MODEL)
const size = Number(args.batch)
const confusion = Object.fromEntries(
  LABELS.map((gold) => [gold, Object.fromEntries(LABELS.map((p) => [p, 0]))]),
) as Record<Label, Record<Label, number>>
const started = performance.now()
for (let i = 0; i < posts.length; i += size) {
  const batch = posts.slice(i, i + size)
  const results = await classifier.classify(batch.map((p) => p.text))
  batch.forEach((p, j) => confusion[p.label][results[j]!.label]++)
}
const seconds = (performance.now() - started) / 1000

const recall = (l: Label) =>
  confusion[l][l] /
  Math.max(
    1,
    LABELS.reduce((n, p) => n + confusion[l][p], 0),
  )
const precision = (l: Label) =>
  confusion[l][l] /
  Math.max(
    1,
    LABELS.reduce((n, g) => n + confusion[g][l], 0),
  )
const f1 = (l: Label) =>
  precision(l) + recall(l) === 0 ? 0 : (2 * precision(l) * recall(l)) / (precision(l) + recall(l))
const mean = (f: (l: Label) => number) => LABELS.reduce((s, l) => s + f(l), 0) / LABELS.length
const accuracy = LABELS.reduce((n, l) => n + confusion[l][l], 0) / posts.length

console.log(
  `${classifier.name} on ${source}: ${posts.length} posts, ${(posts.length / seconds).toFixed(0)} posts/s${skipped.length ? `, ${skipped.length} lines skipped` : ''}`,
)
console.log(
  `macro recall ${mean(recall).toFixed(4)}   macro F1 ${mean(f1).toFixed(4)}   accuracy ${accuracy.toFixed(4)}`,
)
console.log(`recall: ${LABELS.map((l) => `${l} ${recall(l).toFixed(3)}`).join('   ')}`)
console.log(
  `\nconfusion (rows: gold, columns: predicted)\n${''.padEnd(10)}${LABELS.map((l) => l.padStart(10)).join('')}`,
)
for (const gold of LABELS)
  console.log(`${gold.padEnd(10)}${LABELS.map((p) => String(confusion[gold][p]).padStart(10)).join('')}`)
