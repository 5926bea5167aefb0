/**
 * Blob files of the embedded store. A blob is an immutable file `blobs/<2 hex>/<id>` named by a
 * random id, never by an object key. Bodies are written to `tmp/<random>` first (hashed on the
 * way), fsynced, renamed to their blob path, and the directory fsynced; only then may a row refer
 * to them. A body of at most INLINE_MAX bytes never becomes a file: staging hands it over in
 * memory and the store writes it into the database with the row (an *inline* blob). Nothing here
 * touches the database: reads of inline pieces go through a loader the store passes in.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Readable, Transform, Writable } from 'node:stream'
import type { TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Crc64 } from '../../util/crc64.js'
import { StoreError } from '../errors.js'
import { randomHex } from '../../util/random.js'
import { POOL_CHUNK, takeChunk } from '../../util/chunk-pool.js'
import { HotBodies, type HotBodiesOptions, type HotLease } from './hot-bodies.js'

export function randomId(): string {
  return randomHex(16)
}

/**
 * THE inline threshold: a staged body of at most this many bytes is kept in memory while staged
 * and stored in the database with its row (no file, no fsync); a larger one goes to a file. Never
 * more than this many bytes of one body are held in memory.
 */
export const INLINE_MAX = 64 * 1024

export interface StagedFile {
  readonly id: string
  readonly size: number
  readonly md5: Buffer
  readonly crc64: bigint
  /** The whole body when it is inline (at most INLINE_MAX bytes): there is no file. */
  readonly inline?: Buffer | undefined
}

/** One piece of a read: `length` bytes of blob `blob` starting at byte `offset` of its bytes. */
export interface ReadPiece {
  readonly blob: string
  readonly offset: number
  readonly length: number
  /** A small blob whose descriptor may stay open in the FdCache between reads. */
  readonly cacheable?: boolean
  /** An inline blob: its bytes come from the database through the reader's InlineLoader. */
  readonly inline?: boolean
  /** The whole inline blob's bytes, when the record already carried them (no database read). */
  readonly data?: Buffer | undefined
}

/** The bytes of an inline piece (exactly `piece.length`), or undefined when its blob is gone. */
export type InlineLoader = (piece: ReadPiece) => Buffer | undefined

/** What a read holds for a piece: a file descriptor, or an inline piece's bytes. */
type Handle = number | Buffer

/**
 * Open descriptors of small, hot blob files, kept between reads (an open and a close per GET cost
 * more than the read). Safe because blob files never change and ids are never reused: a blob whose
 * rows are gone is simply never asked for again. Its descriptor would keep the disk space of an
 * unlinked file, so descriptors are closed when this process removes the file, and a periodic
 * prune closes those whose file another process unlinked (st_nlink 0). LRU, at most `max` entries.
 */
export class FdCache {
  private readonly entries = new Map<string, { fd: number; refs: number; dead: boolean }>()
  private readonly max: number
  private readonly pathOf: (id: string) => string
  private readonly timer: NodeJS.Timeout

  constructor(pathOf: (id: string) => string, max = 512, pruneMs = 5000) {
    this.pathOf = pathOf
    this.max = max
    this.timer = setInterval(() => this.prune(), pruneMs)
    this.timer.unref()
  }

  /** A descriptor for blob `id` (opened synchronously on a miss; throws ENOENT if the file is gone). */
  acquire(id: string): number {
    const hit = this.entries.get(id)
    if (hit !== undefined && !hit.dead) {
      hit.refs++
      // Refresh its place in the LRU order.
      this.entries.delete(id)
      this.entries.set(id, hit)
      return hit.fd
    }
    const fd = fs.openSync(this.pathOf(id), 'r')
    if (hit !== undefined) return fd
    this.entries.set(id, { fd, refs: 1, dead: false })
    this.evict()
    return fd
  }

  /** Gives back a descriptor from acquire(). */
  release(id: string, fd: number): void {
    const e = this.entries.get(id)
    if (e === undefined || e.fd !== fd) {
      fs.close(fd, noop)
      return
    }
    e.refs--
    if (e.dead && e.refs === 0) this.close(id)
  }

  /** The file is being removed: close its descriptor once no read uses it. */
  drop(id: string): void {
    const e = this.entries.get(id)
    if (e === undefined) return
    e.dead = true
    if (e.refs === 0) this.close(id)
  }

  closeAll(): void {
    clearInterval(this.timer)
    for (const [id, e] of this.entries) if (e.refs === 0) this.close(id)
    for (const e of this.entries.values()) e.dead = true
  }

  private close(id: string): void {
    const e = this.entries.get(id)
    if (e === undefined) return
    this.entries.delete(id)
    fs.close(e.fd, noop)
  }

  private evict(): void {
    if (this.entries.size <= this.max) return
    for (const [id, e] of this.entries) {
      if (this.entries.size <= this.max) break
      if (e.refs === 0) this.close(id)
      else e.dead = true
    }
  }

  private prune(): void {
    for (const [id, e] of this.entries) {
      if (e.dead) continue
      fs.fstat(e.fd, (err, st) => {
        if (err !== null || st.nlink === 0) this.drop(id)
      })
    }
  }
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export class BlobFiles {
  readonly root: string
  readonly blobDir: string
  readonly tmpDir: string

  readonly fds: FdCache
  readonly hot: HotBodies

  constructor(dataDir: string, hot: HotBodiesOptions = {}) {
    this.fds = new FdCache((id) => this.pathOf(id))
    this.hot = new HotBodies((id) => this.pathOf(id), hot)
    this.root = dataDir
    this.blobDir = path.join(dataDir, 'blobs')
    this.tmpDir = path.join(dataDir, 'tmp')
    fs.mkdirSync(this.tmpDir, { recursive: true })
    for (const h of HEX2) fs.mkdirSync(path.join(this.blobDir, h), { recursive: true })
  }

  pathOf(id: string): string {
    return path.join(this.blobDir, id.slice(0, 2), id)
  }

  /**
   * Stages `body` and returns its id, size, MD5 and CRC-64. Steps:
   * 1. read and hash up to INLINE_MAX bytes with plain stream events (readSmall); more than
   *    maxSize bytes → BodyTooLarge; 2. if the body ended there: return it inline, no file made.
   *    Otherwise a pipeline (backpressure, abort signal) hashes the rest on its way and writes the
   *    held bytes and the rest to `tmp/<id>`; 3. fsync the file; 4. rename it to `blobs/xx/<id>`;
   *    5. fsync `blobs/xx`.
   * On any failure the temp (or renamed) file is removed and the error rethrown.
   */
  async stage(body: Readable, maxSize: number, signal: AbortSignal | undefined): Promise<StagedFile> {
    const id = randomId()
    const tmp = path.join(this.tmpDir, id)
    const final = this.pathOf(id)
    const md5 = createHash('md5')
    const crc = new Crc64()
    let size = 0
    const take = (chunk: Buffer): void => {
      size += chunk.length
      if (size > maxSize) throw new StoreError('BodyTooLarge')
      md5.update(chunk)
      crc.update(chunk)
    }
    // Most bodies are small: read them without a stream pipeline (its set-up and teardown cost
    // more than hashing 4 KiB). `first.rest` is false when the body ended within INLINE_MAX.
    const first = await readSmall(body, INLINE_MAX, take, signal)
    if (!first.rest) return { id, size, md5: md5.digest(), crc64: crc.digest(), inline: concat(first.held) }
    const hasher = new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        try {
          take(chunk)
        } catch (err) {
          cb(err as Error)
          return
        }
        cb(null, chunk)
      },
    })
    let renamed = false
    try {
      const out = new SpillSink(tmp, INLINE_MAX)
      for (const chunk of first.held) out.write(chunk)
      await pipeline(body, hasher, out, signal === undefined ? {} : { signal })
      await fsp.rename(tmp, final)
      renamed = true
      await syncDir(path.dirname(final))
      return { id, size, md5: md5.digest(), crc64: crc.digest() }
    } catch (err) {
      await fsp.rm(renamed ? final : tmp, { force: true })
      throw err
    }
  }

  /** Removes a blob file; a missing file is fine (already swept). */
  async remove(id: string): Promise<void> {
    this.fds.drop(id)
    this.hot.drop(id)
    await fsp.rm(this.pathOf(id), { force: true })
  }

  /**
   * A stream over `pieces`. The first `eager` pieces are opened synchronously, before this returns
   * (files: their descriptors; inline pieces: their bytes, while they total at most `eagerInline`
   * bytes), so those bytes stay readable whatever happens to the rows afterwards (blob files are
   * immutable and only unlinked after the commit that frees them). Throws ENOENT synchronously if
   * one of those blobs is already gone. Later pieces are opened (or loaded) when reached.
   */
  open(pieces: readonly ReadPiece[], eager: number, eagerInline: number, inline: InlineLoader, onLazyMissing: () => Error): Readable {
    const handles = this.acquireAll(pieces, eager, eagerInline, inline)
    return new PieceReader(this, pieces, handles, inline, onLazyMissing)
  }

  /**
   * Reads `pieces` whole into one buffer (small reads only: the caller bounds the size). Same
   * guarantees as open(), for every piece: throws ENOENT synchronously if a blob is already gone.
   */
  read(pieces: readonly ReadPiece[], inline: InlineLoader): Promise<Buffer> {
    const handles = this.acquireAll(pieces, pieces.length, Infinity, inline) as Handle[]
    const total = pieces.reduce((n, p) => n + p.length, 0)
    const out = Buffer.allocUnsafe(total)
    const readPiece = async (i: number, at: number): Promise<void> => {
      const piece = pieces[i] as ReadPiece
      const h = handles[i] as Handle
      if (typeof h !== 'number') {
        h.copy(out, at)
        return
      }
      let done = 0
      while (done < piece.length) {
        const n = await readAt(h, out, at + done, piece.length - done, piece.offset + done)
        if (n === 0) throw new Error(`Blob file "${piece.blob}" is shorter than its row says`)
        done += n
      }
    }
    const run = async (): Promise<Buffer> => {
      try {
        let at = 0
        for (let i = 0; i < pieces.length; i++) {
          await readPiece(i, at)
          at += (pieces[i] as ReadPiece).length
        }
        return out
      } finally {
        for (let i = 0; i < handles.length; i++) this.releaseHandle(pieces[i] as ReadPiece, handles[i])
      }
    }
    return run()
  }

  /**
   * A lease on the whole of blob `id` (`size` bytes) from the hot-body cache, loaded by one read if
   * admitted; undefined when not admitted (read it with open() or read()). Throws ENOENT
   * synchronously if the file is already gone; once this returns, the bytes are this blob's
   * whatever happens to the rows (the load's descriptor is open, or the bytes are in memory).
   */
  readHot(id: string, size: number): Promise<HotLease> | undefined {
    return this.hot.acquire(id, size, () => this.read([{ blob: id, offset: 0, length: size, cacheable: true }], noInline))
  }

  /**
   * Handles for the first `eager` pieces, taken now: descriptors (cached ones from the FdCache),
   * and the bytes of inline pieces while they total at most `eagerInline` bytes.
   */
  private acquireAll(pieces: readonly ReadPiece[], eager: number, eagerInline: number, inline: InlineLoader): (Handle | undefined)[] {
    const handles: (Handle | undefined)[] = []
    let inlineBytes = 0
    try {
      for (let i = 0; i < pieces.length && i < eager; i++) {
        const piece = pieces[i] as ReadPiece
        if (piece.inline === true) {
          inlineBytes += piece.length
          if (inlineBytes > eagerInline) break
          handles.push(loadInline(piece, inline))
        } else handles.push(piece.cacheable === true ? this.fds.acquire(piece.blob) : fs.openSync(this.pathOf(piece.blob), 'r'))
      }
    } catch (err) {
      for (let i = 0; i < handles.length; i++) this.releaseHandle(pieces[i] as ReadPiece, handles[i])
      throw err
    }
    return handles
  }

  /** @internal Closes or gives back a descriptor from acquireAll (inline bytes need nothing). */
  releaseHandle(piece: ReadPiece, handle: Handle | undefined): void {
    if (typeof handle !== 'number') return
    if (piece.cacheable === true) this.fds.release(piece.blob, handle)
    else fs.close(handle, noop)
  }

  /** Files under tmp/ and blobs/ as [absolute path, blob id or undefined for tmp files]. */
  async listFiles(): Promise<Array<[string, string | undefined]>> {
    const out: Array<[string, string | undefined]> = []
    for (const name of await fsp.readdir(this.tmpDir)) out.push([path.join(this.tmpDir, name), undefined])
    for (const h of await fsp.readdir(this.blobDir)) {
      const dir = path.join(this.blobDir, h)
      let names: string[]
      try {
        names = await fsp.readdir(dir)
      } catch {
        continue
      }
      for (const name of names) out.push([path.join(dir, name), name])
    }
    return out
  }
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * Read size: 32 KiB, or 512 KiB for large reads (fewer syscalls and thread-pool hops per byte). The
 * small size bounds memory with many concurrent downloads: each holds about two chunks.
 */
const CHUNK = 32 * 1024
const LARGE_CHUNK = POOL_CHUNK
const LARGE_READ = 8 * 1024 * 1024

/**
 * Reads pieces in order with fs.read on their descriptors; `_read` issues one read at a time, so the
 * consumer's pace drives the disk. A descriptor is never closed while a read on it is in flight.
 */
class PieceReader extends Readable {
  private readonly files: BlobFiles
  private readonly pieces: readonly ReadPiece[]
  private readonly handles: (Handle | undefined)[]
  private readonly inline: InlineLoader
  private readonly onLazyMissing: () => Error
  private index = 0
  private done = 0
  private busy = false
  private pendingDestroy: (() => void) | undefined
  private readonly chunk: number

  constructor(files: BlobFiles, pieces: readonly ReadPiece[], handles: (Handle | undefined)[], inline: InlineLoader, onLazyMissing: () => Error) {
    const total = pieces.reduce((n, p) => n + p.length, 0)
    const chunk = total > LARGE_READ ? LARGE_CHUNK : CHUNK
    super({ highWaterMark: chunk })
    this.chunk = chunk
    this.files = files
    this.pieces = pieces
    this.handles = handles
    this.inline = inline
    this.onLazyMissing = onLazyMissing
  }

  override _read(): void {
    if (this.busy) return
    for (;;) {
      const piece = this.pieces[this.index]
      if (piece === undefined) {
        this.push(null)
        return
      }
      if (this.done < piece.length) break
      this.closeFd(this.index)
      this.index++
      this.done = 0
    }
    const piece = this.pieces[this.index] as ReadPiece
    let fd = this.handles[this.index]
    if (fd === undefined && piece.inline === true) {
      // Loaded when reached (beyond the eager budget): gone by now means the version was replaced.
      fd = this.inline(piece)
      if (fd === undefined) {
        this.destroy(this.onLazyMissing())
        return
      }
    }
    if (typeof fd !== 'number' && fd !== undefined) {
      this.handles[this.index] = undefined
      this.done = piece.length
      this.push(fd)
      return
    }
    if (fd === undefined) {
      this.busy = true
      fs.open(this.files.pathOf(piece.blob), 'r', (err, opened) => {
        this.busy = false
        if (this.settleDestroy(err === null ? opened : undefined)) return
        if (err !== null) {
          this.destroy(err.code === 'ENOENT' ? this.onLazyMissing() : err)
          return
        }
        this.handles[this.index] = opened
        this._read()
      })
      return
    }
    const n = Math.min(this.chunk, piece.length - this.done)
    // Large reads fill pooled buffers, which the HTTP sender gives back (see util/chunk-pool.ts).
    const buf = this.chunk === LARGE_CHUNK ? takeChunk() : Buffer.allocUnsafe(n)
    this.busy = true
    fs.read(fd, buf, 0, n, piece.offset + this.done, (err, bytesRead) => {
      this.busy = false
      if (this.settleDestroy(undefined)) return
      if (err !== null) {
        this.destroy(err)
        return
      }
      if (bytesRead === 0) {
        this.destroy(new Error(`Blob file "${piece.blob}" is shorter than its row says`))
        return
      }
      this.done += bytesRead
      this.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead))
    })
  }

  /** If destroy waited for an in-flight operation, finish it now; returns true when destroyed. */
  private settleDestroy(extraFd: number | undefined): boolean {
    if (this.pendingDestroy === undefined && !this.destroyed) return false
    if (extraFd !== undefined) fs.close(extraFd, noop)
    const finish = this.pendingDestroy
    this.pendingDestroy = undefined
    finish?.()
    return true
  }

  private closeFd(i: number): void {
    const h = this.handles[i]
    if (h !== undefined) {
      this.handles[i] = undefined
      this.files.releaseHandle(this.pieces[i] as ReadPiece, h)
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const finish = (): void => {
      for (let i = 0; i < this.handles.length; i++) this.closeFd(i)
      cb(err)
    }
    if (this.busy) this.pendingDestroy = finish
    else finish()
  }
}

/** An inline piece's bytes, or ENOENT like a missing file (the blob was freed). */
/** For reads of file blobs only: an inline piece there is a bug. */
function noInline(piece: ReadPiece): never {
  throw new Error(`Blob "${piece.blob}" is inline, not a file`)
}

function loadInline(piece: ReadPiece, inline: InlineLoader): Buffer {
  const bytes = inline(piece)
  if (bytes === undefined) throw Object.assign(new Error(`Inline blob "${piece.blob}" is gone`), { code: 'ENOENT' })
  return bytes
}

function concat(chunks: readonly Buffer[]): Buffer {
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
}

/**
 * Reads `body` while it stays within `limit` bytes, passing each chunk to `take` (which may throw,
 * e.g. BodyTooLarge). Resolves `{ rest: false }` with every chunk when the body ended within the
 * limit; `{ rest: true }` with the chunks read so far, the body paused, when the next chunk would
 * pass it (that chunk is pushed back, unread). Fails as a pipeline would: on the body's error, on
 * its close before its end (ERR_STREAM_PREMATURE_CLOSE) and on `signal`; a throw from `take` or
 * an abort destroys the body.
 */
function readSmall(body: Readable, limit: number, take: (chunk: Buffer) => void, signal: AbortSignal | undefined): Promise<{ held: Buffer[]; rest: boolean }> {
  return new Promise((resolve, reject) => {
    const held: Buffer[] = []
    let bytes = 0
    const done = (): void => {
      body.off('data', onData)
      body.off('end', onEnd)
      body.off('error', onError)
      body.off('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const fail = (err: Error, destroy: boolean): void => {
      done()
      if (destroy) {
        // The error the body now emits is the one we reject with: already handled.
        body.on('error', noop)
        body.destroy(err)
      }
      reject(err)
    }
    const onData = (chunk: Buffer): void => {
      if (bytes + chunk.length > limit) {
        body.pause()
        body.unshift(chunk)
        done()
        resolve({ held, rest: true })
        return
      }
      try {
        take(chunk)
      } catch (err) {
        fail(err as Error, true)
        return
      }
      held.push(chunk)
      bytes += chunk.length
    }
    const onEnd = (): void => {
      done()
      resolve({ held, rest: false })
    }
    const onError = (err: Error): void => fail(err, false)
    const onClose = (): void => {
      if (!body.readableEnded) fail(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }), false)
    }
    const onAbort = (): void => fail(Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' }), true)
    if (signal?.aborted === true) {
      onAbort()
      return
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    body.on('data', onData)
    body.once('end', onEnd)
    body.once('error', onError)
    body.once('close', onClose)
    body.resume()
  })
}

/**
 * The end of a staging pipeline: holds the body in memory while it fits in `limit` bytes; when
 * it outgrows that, opens the temp file (exclusive), writes what it held and streams the rest
 * there. With a file, the end waits for the file's fsync and close (`flush`).
 */
class SpillSink extends Writable {
  private readonly tmp: string
  private readonly limit: number
  private chunks: Buffer[] = []
  private bytes = 0
  private file: fs.WriteStream | undefined

  constructor(tmp: string, limit: number) {
    super({ highWaterMark: 256 * 1024 })
    this.tmp = tmp
    this.limit = limit
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let file = this.file
    if (file === undefined) {
      if (this.bytes + chunk.length <= this.limit) {
        this.chunks.push(chunk)
        this.bytes += chunk.length
        cb()
        return
      }
      file = fs.createWriteStream(this.tmp, { flags: 'wx', flush: true, highWaterMark: 256 * 1024 })
      this.file = file
      file.on('error', (err) => this.destroy(err))
      for (const held of this.chunks) file.write(held)
      this.chunks = []
    }
    if (file.write(chunk)) cb()
    else file.once('drain', () => cb())
  }

  override _final(cb: (err?: Error | null) => void): void {
    const file = this.file
    if (file === undefined) {
      cb()
      return
    }
    // An error destroys this sink through the 'error' listener; 'close' follows either way.
    file.once('close', () => {
      if (file.errored === null) cb()
    })
    file.end()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const file = this.file
    if (file === undefined || file.closed) {
      cb(err)
      return
    }
    // Wait for the descriptor to close, so the caller's removal of the temp file comes after it.
    file.once('close', () => cb(err))
    file.destroy()
  }
}

function readAt(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, offset, length, position, (err, n) => {
      if (err !== null) reject(err)
      else resolve(n)
    })
  })
}

function noop(): void {
  // nothing to do when closing a read descriptor fails
}
