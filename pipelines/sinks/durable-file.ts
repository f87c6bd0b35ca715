// Files replaced whole and durably: written beside under a temporary name, fsynced, renamed over the
// old one, and the folder fsynced, so a crash or a power cut leaves the old content or the new,
// never part of either. Used by the spools and the sources' cursor files.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

type Write = (fd: number, buffer: Buffer, offset: number, length: number) => number

/**
 * Writes all of `data`: writeSync may write less than asked (a nearly full disk, a signal), and
 * what it did not write would be missing from the file without a word. `write` is for tests.
 */
export function writeAll(fd: number, data: string | Buffer, write: Write = writeSync): void {
  const buffer = typeof data === 'string' ? Buffer.from(data) : data
  for (let at = 0; at < buffer.length; ) {
    const wrote = write(fd, buffer, at, buffer.length - at)
    if (!(wrote > 0)) throw new Error(`short write: ${at} of ${buffer.length} bytes written, then ${wrote}`)
    at += wrote
  }
}

/** Replaces `path` with `body`, durably; throws (leaving the old file) when the disk will not take it. */
export function replaceDurably(path: string, body: string | Buffer, write?: Write): void {
  const tmp = `${path}.tmp`
  try {
    const fd = openSync(tmp, 'w')
    try {
      writeAll(fd, body, write)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  } catch (error) {
    rmSync(tmp, { force: true })
    throw error
  }
  syncFolder(dirname(path))
}

/**
 * A rename is durable against a power cut only once its folder is synced; done as well as the
 * system allows (some refuse fsync on folders), as the file itself is written either way.
 */
export function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // only power-cut durability is weaker
  }
}
