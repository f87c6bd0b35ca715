// Picks the classifier from SENTIMENT_MODEL: unset or empty for the model shipped in
// models/sentiment, "lexicon" for the VADER lexicon, or a model folder or Hugging Face hub id.
import type { Classifier } from './classifier.ts'
import { LexiconClassifier } from './lexicon.ts'
import { DEFAULT_MODEL, type LoadOptions, TransformersClassifier } from './transformers.ts'

export async function loadClassifier(model: string | undefined, options: LoadOptions = {}): Promise<Classifier> {
  if (model === 'lexicon') return new LexiconClassifier()
  return TransformersClassifier.load(model === undefined || model === '' ? DEFAULT_MODEL : model, options)
}
