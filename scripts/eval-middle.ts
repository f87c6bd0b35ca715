// npm run eval:middle [-- --model DIR --sentiment-model DIR|HUB_ID]
// The middle, measured on the dev splits the multi-task training held out (one per corpus, rebuilt
// from ../shared/data by models/training/dump_middle_dev.py; never stored): macro recall per
// sentiment set, emotion macro F1, F1 per intent and flag, the emotions field (per emotion, and how
// often a neutral post gets one), and the sentiment probabilities' expected calibration error, for today's classifier with the rules of models/middle.ts and for
// the multi-task model (models/middle-model.ts), side by side.
import { execFileSync } from 'node:child_process'
import { LABELS } from '../pipelines/vocabulary.ts'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ENGLISH, identifyLanguage } from '../models/language.ts'
import { loadClassifier } from '../models/load.ts'
import { DEFAULT_MODEL } from '../models/transformers.ts'
import { detectIntents, type Scores } from '../models/middle.ts'
import { sentimentOf } from '../models/middle-classifier.ts'
import { EMOTIONS, type Flag, MIDDLE_MODEL, MiddleModel } from '../models/middle-model.ts'

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: MIDDLE_MODEL },
    'sentiment-model': { type: 'string' },
    batch: { type: 'string', default: '64' },
  },
})

/** `emotions`: E-c's own labels, on its rows only (the emotions field's dev set). */
interface DevRow {
  corpus: string
  id: string
  text: string
  labels: Partial<Record<'sentiment' | 'emotion' | Flag, number>>
  emotions?: string[]
}
/** What each system says about one post, in the same terms; `emotions` as the pipeline stores them. */
interface Verdict {
  sentiment: Scores
  emotion?: number
  emotions?: string[]
  flags: Record<Flag, boolean>
}

const script = resolve(import.meta.dirname, '../models/training/dump_middle_dev.py')
// Standard library only: any python3 will do. Its text is already decoded.
const rows = execFileSync('python3', [script], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as DevRow)
const size = Number(args.batch)

async function run(name: string, judge: (texts: string[]) => Promise<Verdict[]>) {
  const out: Verdict[] = []
  const started = performance.now()
  for (let i = 0; i < rows.length; i += size) out.push(...(await judge(rows.slice(i, i + size).map((r) => r.text))))
  console.error(
    `${name}: ${rows.length} posts, ${(rows.length / ((performance.now() - started) / 1000)).toFixed(0)} posts/s`,
  )
  return out
}

// The baseline: the sentiment model shipped before the middle model, with the rules alone.
const classifier = await loadClassifier(args['sentiment-model'] ?? DEFAULT_MODEL)
const today = await run(`${classifier.name} + models/middle.ts`, async (texts) =>
  (await classifier.classify(texts)).map((r, i) => {
    const intents = detectIntents(texts[i]!, r.label)
    return {
      sentiment: r.scores,
      flags: {
        suggestion: intents.includes('suggestion'),
        question: intents.includes('question'),
        comparison: intents.includes('comparison'),
        mixed: r.mixed,
      },
    }
  }),
)
// As the pipeline reads it: the classifier's sentiment and `mixed`, and the intents from its cues.
const model = await MiddleModel.load(args.model)
const multi = await run(model.name, async (texts) =>
  (await model.score(texts)).map((s, i) => {
    const r = sentimentOf(s, texts[i])
    const intents = detectIntents(texts[i]!, r.label, undefined, r.cues)
    return {
      sentiment: r.scores,
      emotion: argmax(EMOTIONS.map((e) => s.emotion[e])),
      emotions: r.emotions,
      flags: {
        suggestion: intents.includes('suggestion'),
        question: intents.includes('question'),
        comparison: intents.includes('comparison'),
        mixed: r.mixed,
      },
    }
  }),
)

function argmax(xs: number[]): number {
  return xs.reduce((best, x, k) => (x > xs[best]! ? k : best), 0)
}
const f1 = (gold: boolean[], pred: boolean[]) => {
  const tp = gold.filter((g, i) => g && pred[i]).length
  return tp === 0 ? 0 : (2 * tp) / (gold.filter(Boolean).length + pred.filter(Boolean).length)
}
const classes = (n: number) => Array.from({ length: n }, (_, k) => k)
const macroRecall = (gold: number[], pred: number[], n: number) => {
  const present = classes(n).filter((k) => gold.includes(k))
  return (
    present.reduce(
      (s, k) => s + gold.filter((g, i) => g === k && pred[i] === k).length / gold.filter((g) => g === k).length,
      0,
    ) / present.length
  )
}
const macroF1 = (gold: number[], pred: number[], n: number) =>
  classes(n).reduce(
    (s, k) =>
      s +
      f1(
        gold.map((g) => g === k),
        pred.map((p) => p === k),
      ),
    0,
  ) / n
/** Top-label expected calibration error, 15 equal-width bins (as models/training/middle_metrics.py). */
function ece(probs: number[][], gold: number[]): number {
  const bins = Array.from({ length: 15 }, () => ({ n: 0, conf: 0, right: 0 }))
  probs.forEach((p, i) => {
    const top = argmax(p)
    const bin = bins[Math.min(14, Math.max(0, Math.ceil(p[top]! * 15) - 1))]!
    bin.n++
    bin.conf += p[top]!
    bin.right += top === gold[i] ? 1 : 0
  })
  return bins.reduce((s, b) => (b.n ? s + (b.n / probs.length) * Math.abs(b.conf / b.n - b.right / b.n) : s), 0)
}

type Figure = (v: Verdict[], idx: number[]) => number
const sentimentProbs = (v: Verdict[], idx: number[]) => idx.map((i) => LABELS.map((l) => v[i]!.sentiment[l]))
const gold = (task: keyof DevRow['labels'], idx: number[]) => idx.map((i) => rows[i]!.labels[task]!)
// Half of E-c's dev split (by a hash of the id): the other half chose EMOTION_THRESHOLD.
const heldHalf = (id: string) => [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % 2 === 1
const fromEc = (r: DevRow) => r.corpus === 'ec' && r.emotions !== undefined && heldHalf(r.id)
const neutralSemeval = (r: DevRow) => r.corpus === 'semeval' && r.labels.sentiment === 1
/** `select` picks the rows where `task` alone does not; `emotion`: a figure only the new model has. */
const lines: {
  what: string
  set: string
  figure: Figure
  task?: keyof DevRow['labels']
  corpora: string[]
  select?: (r: DevRow) => boolean
  emotion?: boolean
}[] = [
  ...['semeval', 'tse', 'dong', 'valence'].map((c) => ({
    what: 'sentiment macro recall',
    set: c,
    task: 'sentiment' as const,
    corpora: [c],
    figure: ((v, idx) => macroRecall(gold('sentiment', idx), sentimentProbs(v, idx).map(argmax), 3)) as Figure,
  })),
  {
    what: 'sentiment ECE',
    set: 'all four',
    task: 'sentiment',
    corpora: ['semeval', 'tse', 'dong', 'valence'],
    figure: (v, idx) => ece(sentimentProbs(v, idx), gold('sentiment', idx)),
  },
  {
    what: 'emotion macro F1',
    set: 'tweeteval',
    task: 'emotion',
    corpora: ['emotion'],
    emotion: true,
    figure: (v, idx) =>
      macroF1(
        gold('emotion', idx),
        idx.map((i) => v[i]!.emotion!),
        4,
      ),
  },
  ...EMOTIONS.map((e) => ({
    what: `emotions: ${e} F1`,
    set: 'E-c half',
    corpora: ['ec'],
    select: fromEc,
    emotion: true,
    figure: ((v, idx) =>
      f1(
        idx.map((i) => rows[i]!.emotions!.includes(e)),
        idx.map((i) => v[i]!.emotions!.includes(e)),
      )) as Figure,
  })),
  {
    what: 'emotions: any, neutral',
    set: 'semeval',
    corpora: ['semeval'],
    select: neutralSemeval,
    emotion: true,
    figure: (v, idx) => idx.filter((i) => v[i]!.emotions!.length > 0).length / idx.length,
  },
  ...(
    [
      ['suggestion', 'forums'],
      ['suggestion', 'hotels'],
      ['question', 'nps'],
      ['comparison', 'compsent'],
      ['mixed', 'restaurants'],
      ['mixed', 'laptops'],
      ['mixed', 'ec'],
    ] as const
  ).map(([flag, c]) => ({
    what: `${flag} F1`,
    set: c,
    task: flag,
    corpora: [c],
    figure: ((v, idx) =>
      f1(
        gold(flag, idx).map((g) => g === 1),
        idx.map((i) => v[i]!.flags[flag]),
      )) as Figure,
  })),
]

console.log(
  `\ndev splits of models/training/middle_data.py; today = ${classifier.name} + models/middle.ts rules, new = ${model.name}\n`,
)
console.log(`${'what'.padEnd(24)}${'set'.padEnd(13)}${'n'.padStart(6)}${'today'.padStart(9)}${'new'.padStart(9)}`)
for (const line of lines) {
  const idx = rows.flatMap((r, i) =>
    line.corpora.includes(r.corpus) && (line.select ? line.select(r) : r.labels[line.task!] !== undefined) ? [i] : [],
  )
  const old = line.emotion ? '—' : line.figure(today, idx).toFixed(3)
  console.log(
    `${line.what.padEnd(24)}${line.set.padEnd(13)}${String(idx.length).padStart(6)}${old.padStart(9)}${line.figure(multi, idx).toFixed(3).padStart(9)}`,
  )
}
// Every dev set is English: a post the pipeline would leave unscored (read as another language,
// models/language.ts) is one the wall would not score at all.
const corpora = [...new Set(rows.map((r) => r.corpus))]
const unscored = rows.filter((r) => !ENGLISH.scores(identifyLanguage(r.text, 'en')))
console.log(
  `\nleft unscored as another language (SCORED_LANGUAGES=en): ${unscored.length} of ${rows.length} dev posts (${((100 * unscored.length) / rows.length).toFixed(2)}%); per set: ${corpora.map((c) => `${c} ${rows.filter((r) => r.corpus === c && unscored.includes(r)).length}/${rows.filter((r) => r.corpus === c).length}`).join(', ')}`,
)
await model.close()
