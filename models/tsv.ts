// Reads labelled posts in the SemEval layout (`id<TAB>label<TAB>text`), undoing the collection's
// escapes the way training does (models/training/textnorm.py: decode_tsv_text): \uXXXX sequences,
// surrogate pairs included, then \" and HTML entities, twice (some are double-escaped).
import { decodeHTML } from 'entities'
import { LABELS } from '../pipelines/vocabulary.ts'
import type { Label } from '../pipelines/schema.ts'

export interface LabelledPost {
  id: string
  label: Label
  text: string
}

export function decodeTsvText(text: string): string {
  // JavaScript strings are UTF-16, so decoded surrogate halves pair up by themselves.
  const unescaped = text
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\\"/g, '"')
  return decodeHTML(decodeHTML(unescaped.toWellFormed()))
}

/** Parses a whole file; lines that are not `id<TAB>label<TAB>text` with a known label are reported. */
export function parseTsv(content: string, source: string): { posts: LabelledPost[]; skipped: string[] } {
  const posts: LabelledPost[] = []
  const skipped: string[] = []
  content.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return
    const [id, label, text] = line.split('\t')
    if (id === undefined || text === undefined || !(LABELS as readonly string[]).includes(label ?? '')) {
      skipped.push(`${source}:${i + 1}: expected id<TAB>negative|neutral|positive<TAB>text`)
      return
    }
    posts.push({ id, label: label as Label, text: decodeTsvText(text) })
  })
  return { posts, skipped }
}
