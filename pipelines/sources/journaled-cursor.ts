// A live source's cursor, saved only once the events read before it are on disk in the intake
// journal (sinks/journal.ts): after a crash, every event before the saved cursor is in the journal
// (and so stored after the restart), never only in the memory of the process that died.
import { CursorFile } from './cursor-file.ts'

export class JournaledCursorFile<T extends object> extends CursorFile<T> {
  private saving: Promise<void> = Promise.resolve()
  /** Why the last save did not happen (the journal's write failed, or the cursor's own). */
  lastError: string | undefined

  constructor(
    path: string,
    /** Resolves once every event appended to the journal so far is on disk. */
    private readonly durable: () => Promise<void>,
  ) {
    super(path)
  }

  /** Saved once what came before it is durable, in the order asked; a cursor whose events did not reach the disk is not saved. */
  override save(cursor: T): void {
    const durable = this.durable()
    this.saving = this.saving
      .then(() => durable)
      .then(() => super.save(cursor))
      .catch((error: unknown) => {
        this.lastError = `the cursor was not saved: ${error instanceof Error ? error.message : String(error)}`
      })
  }

  /** Resolves once every save asked for so far is done (or given up). */
  saved(): Promise<void> {
    return this.saving
  }
}
