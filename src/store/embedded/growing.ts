/**
 * A blob written piece by piece while readers follow it (read-while-fill), in one of two homes:
 * - GrowingFile: bytes go to `tmp/<id>` with hashes computed on the way; readers tail the file
 *   with their own descriptors, at their own pace, and see only bytes the owner has released.
 *   finish() fsyncs and renames the file to its blob path exactly as BlobFiles.stage does; abort()
 *   removes it and fails every reader. A large body is fdatasynced in the background every
 *   SYNC_EVERY bytes while it is written, so the disk writes overlap with the transfer and
 *   finish()'s fsync flushes only the tail (on a 256 MiB fill the one final fsync took 50–200 ms,
 *   all of it between the origin's last byte and the client's). A background sync makes nothing
 *   visible: the file stays in tmp/ until finish(). The chunks of the last write stay in memory, so
 *   a tail that keeps up sends them as they are instead of reading them back.
 * - GrowingBuffer: a body announced at no more than INLINE_MAX bytes, held in one buffer of that
 *   announced size; readers copy nothing out of it but views. finish() hands the bytes over as an
 *   inline blob (the store writes them with the row); abort() drops them. No file, no fsync.
 * Both share the counting of released bytes and the tail readers (Growing, TailReader).
 */
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { inlineHasher, threadedHasher, type BodyHasher } from '../../util/threaded-hasher.js'
import { POOL_CHUNK, takeChunk } from '../../util/chunk-pool.js'
import { StoreError } from '../errors.js'
import { INLINE_MAX, randomId, syncDir, type BlobFiles, type StagedFile } from './blobs.js'

const CHUNK = 256 * 1024
/** Bytes written between two background fdatasyncs of a growing file. */
export const SYNC_EVERY = 16 * 1024 * 1024

/** Where a tail reader gets its bytes: `read` may call back synchronously. */
interface TailSource {
  read(pos: number, n: number, cb: (err: Error | null, bytes: Buffer) => void): void
  close(): void
}

/** Written and released byte counts, the failure, and the wake-ups of waiting tail readers. */
abstract class Growing {
  readonly id = randomId()
  protected written = 0
  protected failure: Error | undefined
  private released = 0
  private complete = false
  private readonly waiters = new Set<() => void>()

  get size(): number {
    return this.written
  }

  /** Lets readers have bytes up to `bytes`; `complete` says no byte will follow. */
  release(bytes: number, complete: boolean): void {
    this.released = Math.max(this.released, Math.min(bytes, this.readable()))
    if (complete) this.complete = true
    this.notify()
  }

  /** A reader of bytes [start, end] (inclusive; to the end when undefined) as they are released. */
  tail(start: number, end: number | undefined): Readable {
    // After abort() the bytes may be gone: the reader fails as every other reader did.
    if (this.failure !== undefined) return new Readable({ read() {} }).destroy(this.failure)
    return new TailReader(this, this.source(), start, end)
  }

  /** @internal for TailReader */
  state(): { released: number; complete: boolean; failure: Error | undefined } {
    return { released: this.released, complete: this.complete, failure: this.failure }
  }

  /** @internal for TailReader: calls `fn` once on the next change. */
  onChange(fn: () => void): () => void {
    this.waiters.add(fn)
    return () => this.waiters.delete(fn)
  }

  /** @internal for TailReader: up to `max` bytes from `pos` still in memory from the last write, else undefined. */
  fromMemory(_pos: number, _max: number): Uint8Array | undefined {
    return undefined
  }

  /** Bytes a reader could be given (release() never goes past them). */
  protected readable(): number {
    return this.written
  }

  protected abstract source(): TailSource

  protected notify(): void {
    const list = [...this.waiters]
    this.waiters.clear()
    for (const fn of list) fn()
  }
}

export class GrowingFile extends Growing {
  private readonly files: BlobFiles
  private readonly maxSize: number
  private readonly hasher: BodyHasher
  private fh: fsp.FileHandle | undefined
  private path: string
  private finished = false
  /** Bytes covered by the last background sync started. */
  private syncedTo = 0
  /** The background fdatasync in flight (at most one). */
  private syncing: Promise<void> | undefined
  /** A background sync failed: the bytes may not be durable, so the body must not commit. */
  private syncError: Error | undefined
  /**
   * The chunks of the last completed write, bytes [recentStart, written): a tail that keeps up
   * takes them from memory (no copy) instead of reading them back from the page cache.
   */
  private recent: readonly Uint8Array[] = []
  private recentStart = 0

  private constructor(files: BlobFiles, maxSize: number, hasher: BodyHasher) {
    super()
    this.hasher = hasher
    this.files = files
    this.maxSize = maxSize
    this.path = path.join(files.tmpDir, this.id)
  }

  /** `threadedHash`: hash on the worker thread (large bodies), else inline. */
  static async create(files: BlobFiles, maxSize: number, threadedHash: boolean): Promise<GrowingFile> {
    const file = new GrowingFile(files, maxSize, threadedHash ? threadedHasher() : inlineHasher())
    file.fh = await fsp.open(file.path, 'wx')
    return file
  }

  /**
   * Appends a chunk, or several as one gathered write (no copy into one buffer), not yet durable;
   * refuses past maxSize with BodyTooLarge. One write at a time.
   */
  async write(data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    if (this.fh === undefined || this.failure !== undefined) throw this.failure ?? new Error('Staging file is closed')
    if (this.syncError !== undefined) throw this.syncError
    const all: readonly Uint8Array[] = data instanceof Uint8Array ? [data] : data
    let chunks = all
    const length = all.reduce((n, c) => n + c.length, 0)
    if (this.written + length > this.maxSize) throw new StoreError('BodyTooLarge')
    // Hashed in call order (inline now, or queued to the hash thread) while the chunks are written.
    for (const c of chunks) this.hasher.update(c)
    let off = 0
    while (off < length) {
      const { bytesWritten } = await this.fh.writev(chunks, this.written + off)
      off += bytesWritten
      if (off < length) chunks = after(chunks, bytesWritten)
    }
    // The caller hands the chunks over (StagingBlob.write): tails may send them as they are.
    this.recent = all
    this.recentStart = this.written
    this.written += length
    this.syncInBackground()
    await this.hasher.drained()
  }

  /** Starts an fdatasync once SYNC_EVERY bytes have been written since the last one began; never awaited by writes. */
  private syncInBackground(): void {
    const fh = this.fh
    if (fh === undefined || this.syncing !== undefined || this.written - this.syncedTo < SYNC_EVERY) return
    this.syncedTo = this.written
    this.syncing = fh.datasync().then(
      () => {
        this.syncing = undefined
        this.syncInBackground()
      },
      (err: unknown) => {
        this.syncing = undefined
        this.syncError ??= err instanceof Error ? err : new Error(String(err))
      },
    )
  }

  /** fsync, close, rename to the blob path, fsync the directory. Readers keep reading. */
  async finish(): Promise<StagedFile> {
    const fh = this.fh
    if (fh === undefined || this.failure !== undefined) throw this.failure ?? new Error('Staging file is closed')
    this.fh = undefined
    // Steps: wait for the background sync in flight (an error fails the commit), fsync the
    // tail, close, rename to the blob path, fsync its directory.
    await this.syncing
    if (this.syncError !== undefined) {
      await fh.close().catch(() => undefined)
      throw this.syncError
    }
    await fh.sync()
    await fh.close()
    const final = this.files.pathOf(this.id)
    await fsp.rename(this.path, final)
    this.path = final
    await syncDir(path.dirname(final))
    this.finished = true
    const { md5, crc64 } = await this.hasher.digest()
    return { id: this.id, size: this.written, md5, crc64 }
  }

  /** Removes the file (unless finish() handed it over) and fails every reader with `reason`. */
  async abort(reason: Error): Promise<void> {
    if (this.failure !== undefined) return
    this.failure = reason
    this.recent = []
    this.hasher.dispose()
    this.notify()
    const fh = this.fh
    this.fh = undefined
    // Never close the descriptor under a background sync.
    await this.syncing
    if (fh !== undefined) await fh.close().catch(() => undefined)
    if (!this.finished) await fsp.rm(this.path, { force: true })
  }

  override fromMemory(pos: number, max: number): Uint8Array | undefined {
    let at = this.recentStart
    if (pos < at) return undefined
    for (const c of this.recent) {
      if (pos < at + c.length) return c.subarray(pos - at, pos - at + Math.min(max, at + c.length - pos))
      at += c.length
    }
    return undefined
  }

  protected source(): TailSource {
    let fd: number
    try {
      fd = fs.openSync(path.join(this.files.tmpDir, this.id), 'r')
    } catch {
      // Already renamed into place by finish().
      fd = fs.openSync(this.files.pathOf(this.id), 'r')
    }
    return {
      read(pos, n, cb) {
        // A pooled buffer (TailReader asks for at most CHUNK), given back by the HTTP sender (util/chunk-pool.ts).
        const buf = n <= POOL_CHUNK ? takeChunk() : Buffer.allocUnsafe(n)
        fs.read(fd, buf, 0, n, pos, (err, bytesRead) => cb(err, buf.subarray(0, bytesRead)))
      },
      close() {
        fs.close(fd, () => undefined)
      },
    }
  }
}

/**
 * The in-memory staging of a body announced at `expectedSize` ≤ INLINE_MAX bytes. It never holds
 * more than that: bytes past the announced size are counted in `size` (so the caller's length
 * check fails as it would with a file) but not kept, and finish() refuses such a body.
 */
export class GrowingBuffer extends Growing {
  private readonly buf: Buffer
  private readonly maxSize: number
  private readonly hasher = inlineHasher()
  private finished = false

  constructor(expectedSize: number, maxSize: number) {
    super()
    if (expectedSize > INLINE_MAX) throw new RangeError(`An in-memory staging holds at most ${INLINE_MAX} bytes`)
    this.buf = Buffer.allocUnsafe(expectedSize)
    this.maxSize = maxSize
  }

  /** Keeps the chunks (up to the announced size); refuses past maxSize with BodyTooLarge. */
  write(data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    if (this.finished || this.failure !== undefined) return Promise.reject(this.failure ?? new Error('Staging buffer is finished'))
    const chunks: readonly Uint8Array[] = data instanceof Uint8Array ? [data] : data
    const length = chunks.reduce((n, c) => n + c.length, 0)
    if (this.written + length > this.maxSize) return Promise.reject(new StoreError('BodyTooLarge'))
    for (const chunk of chunks) {
      if (this.written < this.buf.length) this.buf.set(chunk.subarray(0, this.buf.length - this.written), this.written)
      this.hasher.update(chunk)
      this.written += chunk.length
    }
    return Promise.resolve()
  }

  /** Hands the bytes over as an inline blob. Readers keep reading the same buffer. */
  async finish(): Promise<StagedFile> {
    if (this.finished || this.failure !== undefined) throw this.failure ?? new Error('Staging buffer is finished')
    if (this.written > this.buf.length) throw new Error(`Staged body of ${this.written} bytes is longer than the announced ${this.buf.length}`)
    this.finished = true
    const { md5, crc64 } = await this.hasher.digest()
    return { id: this.id, size: this.written, md5, crc64, inline: this.buf.subarray(0, this.written) }
  }

  /** Fails every reader with `reason`; there is nothing to remove. */
  abort(reason: Error): Promise<void> {
    if (this.failure === undefined) {
      this.failure = reason
      this.notify()
    }
    return Promise.resolve()
  }

  protected override readable(): number {
    return Math.min(this.written, this.buf.length)
  }

  protected source(): TailSource {
    const buf = this.buf
    return {
      // Released bytes are never written again: a view is safe to hand out.
      read: (pos, n, cb) => cb(null, buf.subarray(pos, pos + n)),
      close() {
        // nothing held
      },
    }
  }
}

/** What is left of `chunks` once their first `n` bytes are written (a short write). */
function after(chunks: readonly Uint8Array[], n: number): Uint8Array[] {
  const rest: Uint8Array[] = []
  let skip = n
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length
      continue
    }
    rest.push(skip > 0 ? c.subarray(skip) : c)
    skip = 0
  }
  return rest
}

class TailReader extends Readable {
  private readonly blob: Growing
  private src: TailSource | undefined
  private pos: number
  private readonly end: number | undefined
  private busy = false
  private unwait: (() => void) | undefined

  constructor(blob: Growing, src: TailSource, start: number, end: number | undefined) {
    super({ highWaterMark: CHUNK })
    this.blob = blob
    this.src = src
    this.pos = start
    this.end = end
  }

  override _read(): void {
    const src = this.src
    if (this.busy || src === undefined) return
    const { released, complete, failure } = this.blob.state()
    if (failure !== undefined) {
      this.destroy(failure)
      return
    }
    if (this.end !== undefined && this.pos > this.end) {
      this.push(null)
      return
    }
    if (this.pos >= released) {
      if (complete) {
        this.push(null)
        return
      }
      this.unwait = this.blob.onChange(() => {
        this.unwait = undefined
        this._read()
      })
      return
    }
    const n = Math.min(CHUNK, released - this.pos, this.end === undefined ? Infinity : this.end + 1 - this.pos)
    // Keeping up with the writer: the bytes are still in memory; up to CHUNK of them, no copy.
    let sent = 0
    for (let held = this.blob.fromMemory(this.pos, n); held !== undefined; held = this.blob.fromMemory(this.pos, n - sent)) {
      this.pos += held.length
      sent += held.length
      if (!this.push(held) || sent >= n) return
    }
    if (sent > 0) return
    this.busy = true
    src.read(this.pos, n, (err, bytes) => {
      this.busy = false
      if (this.destroyed) {
        this.closeSource()
        return
      }
      if (err !== null) {
        this.destroy(err)
        return
      }
      this.pos += bytes.length
      this.push(bytes)
    })
  }

  private closeSource(): void {
    if (this.src !== undefined && !this.busy) {
      this.src.close()
      this.src = undefined
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.unwait?.()
    this.closeSource()
    cb(err)
  }
}
