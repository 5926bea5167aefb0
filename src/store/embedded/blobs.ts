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
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export class BlobFiles {
  readonly root: string
  readonly blobDir: string
  readonly tmpDir: string

  constructor(dataDir: string) {
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
    await fsp.rm(this.pathOf(id), { force: true })
  }

  /**
   * A stream over `pieces`. The first `eager` pieces' files are opened synchronously, before this
   * returns, so those bytes stay readable whatever happens to the rows afterwards (blob files are
   * immutable and only unlinked after the commit that frees them). Throws ENOENT synchronously if
   * one of those files is already gone. Pieces beyond `eager` are opened when reached.
   */
  open(pieces: readonly ReadPiece[], eager: number, onLazyMissing: () => Error): Readable {
    const fds: (number | undefined)[] = []
    try {
      for (let i = 0; i < pieces.length && i < eager; i++) fds.push(fs.openSync(this.pathOf((pieces[i] as ReadPiece).blob), 'r'))
    } catch (err) {
      for (const fd of fds) if (fd !== undefined) fs.closeSync(fd)
      throw err
    }
    return new PieceReader(this, pieces, fds, onLazyMissing)
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

const CHUNK = 64 * 1024

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

  constructor(files: BlobFiles, pieces: readonly ReadPiece[], fds: (number | undefined)[], onLazyMissing: () => Error) {
    super({ highWaterMark: CHUNK })
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
    const n = Math.min(CHUNK, piece.length - this.done)
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
      fs.close(fd, noop)
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

function noop(): void {
  // nothing to do when closing a read descriptor fails
}
