/**
 * Blob files of the embedded store. A blob is an immutable file `blobs/<2 hex>/<id>` named by a
 * random id, never by an object key. Bodies are written to `tmp/<random>` first (hashed on the
 * way), fsynced, renamed to their blob path, and the directory fsynced; only then may a row refer
 * to them. Nothing here touches the database.
 */
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Readable, Transform } from 'node:stream'
import type { TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Crc64 } from '../../util/crc64.js'
import { StoreError } from '../errors.js'
import { HotBodies, type HotBodiesOptions, type HotLease } from './hot-bodies.js'

export function randomId(): string {
  return randomBytes(16).toString('hex')
}

export interface StagedFile {
  readonly id: string
  readonly size: number
  readonly md5: Buffer
  readonly crc64: bigint
}

/** One piece of a read: `length` bytes of blob `blob` starting at byte `offset` of its file. */
export interface ReadPiece {
  readonly blob: string
  readonly offset: number
  readonly length: number
  /** A small blob whose descriptor may stay open in the FdCache between reads. */
  readonly cacheable?: boolean
}

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
   * Streams `body` into a new blob file and returns its id, size, MD5 and CRC-64. Steps:
   * 1. write `tmp/<id>` through a hashing transform (pipeline: backpressure, abort signal);
   *    more than maxSize bytes → BodyTooLarge;
   * 2. fsync the file; 3. rename it to `blobs/xx/<id>`; 4. fsync `blobs/xx`.
   * On any failure the temp (or renamed) file is removed and the error rethrown.
   */
  async stage(body: Readable, maxSize: number, signal: AbortSignal | undefined): Promise<StagedFile> {
    const id = randomId()
    const tmp = path.join(this.tmpDir, id)
    const final = this.pathOf(id)
    const md5 = createHash('md5')
    const crc = new Crc64()
    let size = 0
    const hasher = new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        size += chunk.length
        if (size > maxSize) {
          cb(new StoreError('BodyTooLarge'))
          return
        }
        md5.update(chunk)
        crc.update(chunk)
        cb(null, chunk)
      },
    })
    let renamed = false
    try {
      // flush: the stream fsyncs the file before closing it, and pipeline waits for the close.
      const out = fs.createWriteStream(tmp, { flags: 'wx', flush: true, highWaterMark: 256 * 1024 })
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
   * A stream over `pieces`. The first `eager` pieces' files are opened synchronously, before this
   * returns, so those bytes stay readable whatever happens to the rows afterwards (blob files are
   * immutable and only unlinked after the commit that frees them). Throws ENOENT synchronously if
   * one of those files is already gone. Pieces beyond `eager` are opened when reached.
   */
  open(pieces: readonly ReadPiece[], eager: number, onLazyMissing: () => Error): Readable {
    const fds = this.acquireAll(pieces, eager)
    return new PieceReader(this, pieces, fds, onLazyMissing)
  }

  /**
   * Reads `pieces` whole into one buffer (small reads only: the caller bounds the size). Same
   * descriptor guarantees as open(): throws ENOENT synchronously if a file is already gone.
   */
  read(pieces: readonly ReadPiece[]): Promise<Buffer> {
    const fds = this.acquireAll(pieces, pieces.length) as number[]
    const total = pieces.reduce((n, p) => n + p.length, 0)
    const out = Buffer.allocUnsafe(total)
    const readPiece = async (i: number, at: number): Promise<void> => {
      const piece = pieces[i] as ReadPiece
      let done = 0
      while (done < piece.length) {
        const n = await readAt(fds[i] as number, out, at + done, piece.length - done, piece.offset + done)
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
        for (let i = 0; i < fds.length; i++) this.releaseFd(pieces[i] as ReadPiece, fds[i])
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
    return this.hot.acquire(id, size, () => this.read([{ blob: id, offset: 0, length: size, cacheable: true }]))
  }

  /** Descriptors for the first `eager` pieces, opened now (cached ones from the FdCache). */
  private acquireAll(pieces: readonly ReadPiece[], eager: number): (number | undefined)[] {
    const fds: (number | undefined)[] = []
    try {
      for (let i = 0; i < pieces.length && i < eager; i++) {
        const piece = pieces[i] as ReadPiece
        fds.push(piece.cacheable === true ? this.fds.acquire(piece.blob) : fs.openSync(this.pathOf(piece.blob), 'r'))
      }
    } catch (err) {
      for (let i = 0; i < fds.length; i++) this.releaseFd(pieces[i] as ReadPiece, fds[i])
      throw err
    }
    return fds
  }

  /** @internal Closes or gives back a descriptor from acquireAll. */
  releaseFd(piece: ReadPiece, fd: number | undefined): void {
    if (fd === undefined) return
    if (piece.cacheable === true) this.fds.release(piece.blob, fd)
    else fs.close(fd, noop)
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
const LARGE_CHUNK = 512 * 1024
const LARGE_READ = 8 * 1024 * 1024

/**
 * Reads pieces in order with fs.read on their descriptors; `_read` issues one read at a time, so the
 * consumer's pace drives the disk. A descriptor is never closed while a read on it is in flight.
 */
class PieceReader extends Readable {
  private readonly files: BlobFiles
  private readonly pieces: readonly ReadPiece[]
  private readonly fds: (number | undefined)[]
  private readonly onLazyMissing: () => Error
  private index = 0
  private done = 0
  private busy = false
  private pendingDestroy: (() => void) | undefined
  private readonly chunk: number

  constructor(files: BlobFiles, pieces: readonly ReadPiece[], fds: (number | undefined)[], onLazyMissing: () => Error) {
    const total = pieces.reduce((n, p) => n + p.length, 0)
    const chunk = total > LARGE_READ ? LARGE_CHUNK : CHUNK
    super({ highWaterMark: chunk })
    this.chunk = chunk
    this.files = files
    this.pieces = pieces
    this.fds = fds
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
    const fd = this.fds[this.index]
    if (fd === undefined) {
      this.busy = true
      fs.open(this.files.pathOf(piece.blob), 'r', (err, opened) => {
        this.busy = false
        if (this.settleDestroy(err === null ? opened : undefined)) return
        if (err !== null) {
          this.destroy(err.code === 'ENOENT' ? this.onLazyMissing() : err)
          return
        }
        this.fds[this.index] = opened
        this._read()
      })
      return
    }
    const n = Math.min(this.chunk, piece.length - this.done)
    const buf = Buffer.allocUnsafe(n)
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
      this.push(bytesRead === n ? buf : buf.subarray(0, bytesRead))
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
    const fd = this.fds[i]
    if (fd !== undefined) {
      this.fds[i] = undefined
      this.files.releaseFd(this.pieces[i] as ReadPiece, fd)
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const finish = (): void => {
      for (let i = 0; i < this.fds.length; i++) this.closeFd(i)
      cb(err)
    }
    if (this.busy) this.pendingDestroy = finish
    else finish()
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
