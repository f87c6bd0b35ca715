// The default classifier: a text-classification model run locally by transformers.js, by default
// the model trained for Undertow and shipped in models/sentiment (see models/training). The same
// code loads a Hugging Face hub id (e.g. Xenova/twitter-roberta-base-sentiment-latest) where the
// deployment can reach the hub. Scores are the model's, shifted by emoji valence; the middle flags
// follow the shared rules in middle.ts.
import { existsSync } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { env, pipeline, type TextClassificationPipeline } from '@huggingface/transformers'
import type { Label } from '../pipelines/schema.ts'
import type { Classifier, ModelSentiment } from './classifier.ts'
import { emojiPolarity, withEmoji } from './emoji.ts'
import { lexiconShares } from './vader-cue.ts'
import { isMixed, labelOf, normalisedEntropy, type Scores, UNCERTAIN_ENTROPY } from './middle.ts'

export const DEFAULT_MODEL = fileURLToPath(new URL('./sentiment', import.meta.url))

const LABELS = ['negative', 'neutral', 'positive'] as const
// Hub models name their classes either by word or by index (cardiffnlp's older checkpoints).
const LABEL_ALIASES: Record<string, (typeof LABELS)[number]> = {
  negative: 'negative',
  neutral: 'neutral',
  positive: 'positive',
  label_0: 'negative',
  label_1: 'neutral',
  label_2: 'positive',
}

export interface LoadOptions {
  /** ONNX Runtime threads for one batch; 0 lets it choose. */
  threads?: number
}

/**
 * Same preparation as training (models/training/README.md): user mentions become "@user" and links
 * "http". The shipped tokenizer does this itself; hub models such as twitter-roberta expect it done.
 */
export function prepare(text: string): string {
  return text.replace(/(?<!\S)@\S+/g, '@user').replace(/(?<!\S)http\S*/g, 'http')
}

function softmax(logits: Float32Array, offset: number, order: readonly Label[]): Scores {
  const max = Math.max(logits[offset]!, logits[offset + 1]!, logits[offset + 2]!)
  const e = [0, 1, 2].map((k) => Math.exp(logits[offset + k]! - max))
  const sum = e[0]! + e[1]! + e[2]!
  const scores: Scores = { negative: 0, neutral: 0, positive: 0 }
  order.forEach((label, k) => (scores[label] = e[k]! / sum))
  return scores
}

export class TransformersClassifier implements Classifier {
  private constructor(
    readonly name: string,
    /** The underlying transformers.js pipeline (its tokenizer and model), for benchmarks. */
    readonly hf: TextClassificationPipeline,
    /** Which label each logit is, in the model's id order. */
    private readonly order: Label[],
  ) {}

  /**
   * A folder (absolute or relative) or a hub id (`owner/name`). A folder never reaches for the
   * network; neither does anything that looks like a path (starts with . / ~, or its first segment
   * is a local folder, as in a mistyped `models/sentimnt`): that is reported as a missing folder.
   */
  static async load(model: string = DEFAULT_MODEL, options: LoadOptions = {}): Promise<TransformersClassifier> {
    const folder = resolve(model)
    const local = existsSync(folder)
    const hubId = !local && /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(model) && !existsSync(resolve(model.split('/')[0]!))
    if (!local && !hubId) throw new Error(`SENTIMENT_MODEL="${model}": no such model folder (${folder})`)
    env.allowRemoteModels = hubId
    if (local) env.localModelPath = `${dirname(folder)}/`
    const classifier = await pipeline('text-classification', local ? basename(folder) : model, {
      dtype: 'fp32',
      session_options: options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {},
    }).catch((error: unknown) => {
      throw new Error(
        `SENTIMENT_MODEL="${model}": cannot load it as a ${local ? 'model folder' : 'hub id (no such folder here)'}: ${String(error)}`,
      )
    })
    const id2label = (classifier.model.config as { id2label?: Record<string, string> }).id2label ?? {}
    const order = Object.keys(id2label)
      .sort((a, b) => Number(a) - Number(b))
      .map((id) => LABEL_ALIASES[id2label[id]!.toLowerCase()])
    if (order.length !== 3 || new Set(order).size !== 3 || order.includes(undefined)) {
      throw new Error(`SENTIMENT_MODEL="${model}": expected the labels negative, neutral and positive`)
    }
    return new TransformersClassifier(
      local ? `transformers.js:${basename(folder)}` : `transformers.js:${model}`,
      classifier,
      order as Label[],
    )
  }

  async classify(texts: readonly string[]): Promise<ModelSentiment[]> {
    if (texts.length === 0) return []
    // The pipeline's own tokenizer and model, as pipeline(texts) runs them; the softmax is done
    // here over the whole batch at once, which is faster than the pipeline's per-row top-k.
    const inputs = this.hf.tokenizer(texts.map(prepare), { padding: true, truncation: true })
    const { logits } = (await this.hf.model(inputs)) as { logits: { data: Float32Array; dims: number[] } }
    return texts.map((text, i) => {
      const raw = softmax(logits.data, i * 3, this.order)
      const emoji = emojiPolarity(text)
      const scores = withEmoji(raw, emoji.positive + emoji.negative)
      const label = labelOf(scores)
      return {
        label,
        scores,
        confidence: scores[label],
        // From the words (before the emoji shift, which would hide one side), or emojis of both signs.
        mixed: isMixed(raw, () => lexiconShares(text)) || (emoji.positive > 0 && emoji.negative < 0),
        uncertain: normalisedEntropy(scores) > UNCERTAIN_ENTROPY,
      }
    })
  }
}
