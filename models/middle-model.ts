// The multi-task "middle" model (models/middle, trained by models/training/multitask.py): one
// ONNX graph, one output per task. The pipeline serves it through models/middle-classifier.ts;
// scripts/eval-middle.ts measures it next to the earlier sentiment model and its rules. Runs on
// onnxruntime-node with the folder's own tokenizer (the shipped sentiment tokenizer, unchanged), never the network.
import { readFileSync } from 'node:fs'
import { EMOTIONS } from '../pipelines/vocabulary.ts'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PreTrainedTokenizer } from '@huggingface/transformers'
import * as ort from 'onnxruntime-node'
import type { Emotion } from '../pipelines/schema.ts'
import type { Scores } from './middle.ts'

export { EMOTIONS, type Emotion }

export const MIDDLE_MODEL = fileURLToPath(new URL('./middle', import.meta.url))
export const FLAGS = ['suggestion', 'question', 'comparison', 'mixed'] as const
export type Flag = (typeof FLAGS)[number]
const SENTIMENT = ['negative', 'neutral', 'positive'] as const
const OUTPUTS = ['sentiment', 'emotion', ...FLAGS] as const

export interface MiddleScores {
  /** Calibrated (temperature-scaled on the training's validation split); sums to 1. */
  sentiment: Scores
  /** Which of the four the post expresses most; sums to 1 (no "none" class: see docs/model-card.md). */
  emotion: Record<Emotion, number>
  /** Each flag's probability... */
  probabilities: Record<Flag, number>
  /** ...and whether it reaches the threshold chosen on the validation split (config.json). */
  flags: Record<Flag, boolean>
}

interface MiddleConfig {
  outputs: Record<string, unknown>
  undertow: { thresholds: Record<Flag, number>; temperature: number }
}

export class MiddleModel {
  private constructor(
    readonly name: string,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly session: ort.InferenceSession,
    readonly thresholds: Record<Flag, number>,
  ) {}

  static async load(folder: string = MIDDLE_MODEL, options: { threads?: number } = {}): Promise<MiddleModel> {
    const read = (file: string) => JSON.parse(readFileSync(join(folder, file), 'utf8')) as unknown
    const config = read('config.json') as MiddleConfig
    const tokenizer = new PreTrainedTokenizer(read('tokenizer.json'), read('tokenizer_config.json'))
    const session = await ort.InferenceSession.create(join(folder, 'onnx', 'model.onnx'), {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
    })
    const missing = OUTPUTS.filter((o) => !session.outputNames.includes(o))
    if (missing.length > 0) throw new Error(`${folder}: the model lacks the outputs ${missing.join(', ')}`)
    const thresholds = config.undertow?.thresholds
    for (const flag of FLAGS) {
      const t = thresholds?.[flag]
      if (typeof t !== 'number' || !(t > 0 && t < 1))
        throw new Error(`${folder}/config.json: undertow.thresholds.${flag} must be a number in (0, 1)`)
    }
    return new MiddleModel(`middle:${folder.split('/').pop()}`, tokenizer, session, thresholds)
  }

  async score(texts: readonly string[]): Promise<MiddleScores[]> {
    if (texts.length === 0) return []
    const encoded = this.tokenizer([...texts], { padding: true, truncation: true }) as unknown as Record<
      string,
      { data: BigInt64Array; dims: number[] }
    >
    const feeds: Record<string, ort.Tensor> = {}
    for (const name of this.session.inputNames)
      feeds[name] = new ort.Tensor('int64', encoded[name]!.data, encoded[name]!.dims)
    const out = await this.session.run(feeds)
    const data = (name: string) => out[name]!.data as Float32Array
    const [sentiment, emotion] = [data('sentiment'), data('emotion')]
    return texts.map((_, i) => {
      const probabilities = Object.fromEntries(FLAGS.map((f) => [f, data(f)[i]!])) as Record<Flag, number>
      return {
        sentiment: Object.fromEntries(SENTIMENT.map((l, k) => [l, sentiment[i * 3 + k]!])) as Scores,
        emotion: Object.fromEntries(EMOTIONS.map((e, k) => [e, emotion[i * 4 + k]!])) as Record<Emotion, number>,
        probabilities,
        flags: Object.fromEntries(FLAGS.map((f) => [f, probabilities[f] >= this.thresholds[f]])) as Record<
          Flag,
          boolean
        >,
      }
    })
  }

  async close(): Promise<void> {
    await this.session.release()
  }
}
