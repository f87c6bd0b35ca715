// Picks the classifier from SENTIMENT_MODEL: unset or empty for the multi-task middle model shipped
// in models/middle, "lexicon" for the VADER lexicon, or a model folder (a middle model's, or any
// three-label text-classification model's, such as models/sentiment) or Hugging Face hub id.
import { ReadLanguages } from './language.ts'
import type { Classifier } from './classifier.ts'
import { LexiconClassifier } from './lexicon.ts'
import { isMiddleModel, MiddleClassifier } from './middle-classifier.ts'
import { MIDDLE_MODEL } from './middle-model.ts'
import { type LoadOptions, TransformersClassifier } from './transformers.ts'
import { WorkerClassifier } from './worker.ts'

/** The model folder (or hub id) SENTIMENT_MODEL names, the shipped default when it is empty. */
export const modelPath = (model: string | undefined) => (model === undefined || model === '' ? MIDDLE_MODEL : model)

/** Loads a model on this thread: a middle model by its own runtime, any other by transformers.js. */
export function loadModel(path: string, options: LoadOptions = {}): Promise<Classifier> {
  return isMiddleModel(path) ? MiddleClassifier.load(path, options) : TransformersClassifier.load(path, options)
}

/** `thread`: the model runs on a thread of its own (models/worker.ts), as the server runs it. */
export async function loadClassifier(
  model: string | undefined,
  options: LoadOptions & { thread?: boolean; languages?: string } = {},
): Promise<Classifier> {
  const { thread, languages, ...load } = options
  const path = modelPath(model)
  const classifier: Classifier =
    model === 'lexicon'
      ? new LexiconClassifier()
      : thread
        ? await WorkerClassifier.load(path, load)
        : await loadModel(path, load)
  // `languages`: SCORED_LANGUAGES, the languages the configured model is said to read.
  if (languages !== undefined) classifier.languages = new ReadLanguages(languages)
  return classifier
}
