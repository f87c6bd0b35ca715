// HTML from the networks (Mastodon statuses, Hacker News comments) as plain text. The wall shows
// text, never HTML; this keeps what the markup meant for reading (paragraphs, line breaks, link
// text) and drops the rest.
import { compile } from 'html-to-text'

// Compiled once: html-to-text's convert() compiles its options on every call, which made Mastodon's
// parsing 16 times slower (npm run bench:sources).
const toText = compile({
  wordwrap: false,
  // Hostile HTML can nest deep enough to overflow the stack of a recursive walk: past 64 levels the
  // rest is cut ("..."), and a body over 200,000 characters is cut too (posts hold 20,000).
  limits: { maxDepth: 64, maxInputLength: 200_000 },
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
  ],
})

/**
 * HTML as plain text: paragraphs and line breaks kept, links as their text, nothing else of
 * the markup (scripts, styles and images dropped). The wall shows it as text, never as HTML.
 */
export function plainText(html: string): string {
  return toText(html)
}
