// Picks the classifier from SENTIMENT_MODEL: unset or empty for the model shipped in
// models/sentiment, "lexicon" for the VADER lexicon, or a model folder or Hugging Face hub id.
import type { Classifier } from './classifier.ts'
import { LexiconClassifier } from './lexicon.ts'
import { DEFAULT_MODEL, type LoadOptions, TransformersClassifier } from './transformers.ts'
import { WorkerClassifier } from './worker.ts'

/** `thread`: a transformers.js model runs on a thread of its own (models/worker.ts), as the server runs it. */
export async function loadClassifier(model: string | undefined, options: LoadOptions & { thread?: boolean } = {}): Promise<Classifier> {
  if (model === 'lexicon') return new LexiconClassifier()
  const { thread, ...load } = options
  const path = model === undefined || model === '' ? DEFAULT_MODEL : model
  return thread ? WorkerClassifier.load(path, load) : TransformersClassifier.load(path, load)
}
