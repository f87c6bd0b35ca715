// Where a live source keeps its place in the stream, so a reconnect or a restart resumes there. One
// small JSON file per source, replaced durably (sinks/durable-file.ts): a crash leaves the old
// cursor or the new one, never half of either.
import { mkdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { replaceDurably } from '../sinks/durable-file.ts'

export class CursorFile<T extends object> {
  constructor(readonly path: string) {}

  /** The saved cursor; undefined when there is none, or when the file cannot be read as one. */
  load(isCursor: (value: unknown) => value is T): T | undefined {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch {
      return undefined
    }
    try {
      const value: unknown = JSON.parse(text)
      return isCursor(value) ? value : undefined
    } catch {
      return undefined
    }
  }

  save(cursor: T): void {
    mkdirSync(dirname(this.path), { recursive: true })
    replaceDurably(this.path, JSON.stringify(cursor))
  }
}
