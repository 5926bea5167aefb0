/**
 * The change epoch: six random bytes at the start of `<data>/epoch` that every store process
 * rewrites after each write transaction it commits (and once when it opens the store, which covers
 * a process that died between a commit and its bump). A reader that finds a value other than the
 * one it last saw knows some process has committed since; the record cache (./row-cache.ts) asks
 * this instead of SQLite's `PRAGMA data_version`, which costs a WAL read transaction (two fcntl
 * locks on the shared memory and a stat, about 10 µs here) where this is one 6-byte pread.
 *
 * Ordering: a writer bumps after COMMIT returns and before it answers its client; a reader reads
 * the epoch after the request it serves has arrived. So a request sent after a write was answered
 * sees the new epoch, and any commit it could know of. Values are random, not counted: two
 * processes bumping at once cannot write the same value the way two read-modify-write increments
 * could (a repeat has odds of 2^-48 per bump).
 */
import { randomFillSync } from 'node:crypto'
import fs from 'node:fs'

const BYTES = 6

export class ChangeEpoch {
  private readonly fd: number
  private readonly buf = Buffer.alloc(BYTES)

  constructor(file: string) {
    this.fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600)
    this.bump()
  }

  /** The current value; any bump by any process changes it. */
  read(): number {
    this.buf.fill(0)
    fs.readSync(this.fd, this.buf, 0, BYTES, 0)
    return this.buf.readUIntLE(0, BYTES)
  }

  /** Records that this process committed a change. */
  bump(): void {
    randomFillSync(this.buf)
    fs.writeSync(this.fd, this.buf, 0, BYTES, 0)
  }

  close(): void {
    fs.closeSync(this.fd)
  }
}
