// Reading texts as the pipeline does: each one's language from its text (models/language.ts),
// and the model's reading of those in a language the classifier reads; the others go unscored.
import { ENGLISH, identifyLanguage } from './language.ts'
import type { Classifier, Reading, Text } from './classifier.ts'

/** On this thread: what a classifier without a `read` of its own gets. */
export async function readHere(classifier: Classifier, texts: readonly Text[]): Promise<Reading[]> {
  const languages = classifier.languages ?? ENGLISH
  const found = texts.map(({ text, declared }) => {
    const identified = identifyLanguage(text, declared)
    return { text, language: identified.language, read: languages.scores(identified) }
  })
  const scored = found.filter((t) => t.read).map((t) => t.text)
  const results = scored.length > 0 ? await classifier.classify(scored) : []
  if (results.length !== scored.length)
    throw new Error(`${classifier.name} returned ${results.length} results for ${scored.length} texts`)
  let at = 0
  return found.map((t) => ({ language: t.language, ...(t.read ? { model: results[at++]! } : {}) }))
}

/** By the classifier's own `read` where it has one (its thread), else on this one. */
export const readTexts = (classifier: Classifier, texts: readonly Text[]): Promise<Reading[]> =>
  classifier.read ? classifier.read(texts) : readHere(classifier, texts)
