// Picks the classifier: SENTIMENT_MODEL=lexicon for the VADER lexicon; the trained model
// (issue 3) becomes the default when it lands.
import type { Classifier } from './classifier.ts'
import { LexiconClassifier } from './lexicon.ts'

export async function loadClassifier(model: string | undefined): Promise<Classifier> {
  if (model === undefined || model === '' || model === 'lexicon') return new LexiconClassifier()
  throw new Error(`SENTIMENT_MODEL="${model}": no such classifier (use "lexicon")`)
}
