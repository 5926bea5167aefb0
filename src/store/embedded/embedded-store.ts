/**
 * The embedded ObjectStore: SQLite metadata (./meta.ts) beside immutable blob files (./blobs.ts),
 * all under one data dir:
 *
 *   meta.db (+ -wal, -shm)   rows: buckets, objects, segments, uploads, parts, blob refcounts,
 *                            and the bytes of inline blobs (bodies of at most INLINE_MAX bytes)
 *   blobs/<2 hex>/<id>       larger bodies, named by random ids (object keys never become paths)
 *   tmp/<id>                 bodies being staged
 *
 * Write path: stageBlob (small: in memory; else tmp → fsync → rename → fsync dir) → one BEGIN
 * IMMEDIATE transaction that checks conditions and retention, writes rows (and an inline blob's
 * bytes) and adjusts blob refcounts → after COMMIT, unlink the blob files whose count reached zero
 * (an inline blob's bytes go in the transaction itself). A SIGKILL anywhere leaves the old or the
 * new row, and at worst files no row references, which sweep() removes at the next start. An
 * inline blob needs no fsync: WAL with synchronous=NORMAL makes a commit survive a process crash,
 * and power loss can only roll back whole transactions, bytes and row together.
 *
 * Read path and the unlink race: openObject opens the descriptors of the blob files it needs (and
 * reads the bytes of inline blobs) synchronously, before returning. Files are immutable and
 * unlinked only after the commit that stops referencing them, so a reader either holds its
 * descriptors or bytes (and keeps reading its version, whatever happens to the key) or finds a
 * blob already gone, which means its record is no longer current: openObject then throws
 * ObjectChanged and the caller looks the key up again.
 *
 * CopyObject and the ETag: a copy shares the source's blobs (refcounts +1, no byte copy) and is a
 * Normal object whose ETag is the content MD5. Normal sources carry their MD5 in the row. For a
 * Multipart or Appendable source the MD5 is not known: copyObject computes it by reading the source
 * bytes (synchronously, bounded by OSS's 1 GB copy limit) unless `prepareCopy` already did so
 * asynchronously; the result is cached on the source row (`objects.md5`, tied to its version).
 */
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import type Database from 'better-sqlite3'
import { StoreError } from '../errors.js'
import type {
  Bucket,
  BucketAcl,
  ByteRange,
  CompleteOptions,
  ListBucketsQuery,
  ListEntry,
  ListObjectsQuery,
  ListObjectsResult,
  ListPartsQuery,
  ListPartsResult,
  ListUploadsQuery,
  ListUploadsResult,
  NewBucket,
  ObjectAcl,
  ObjectAttributes,
  ObjectRecord,
  ObjectStore,
  ObjectType,
  Part,
  SharedBody,
  Redundancy,
  StagedBlob,
  StagingBlob,
  StageOptions,
  StorageClass,
  StoredHeaders,
  Upload,
  UploadListEntry,
  WormPolicy,
  WriteCondition,
} from '../types.js'
import { isProtected } from '../worm.js'
import { BlobFiles, INLINE_MAX, randomId } from './blobs.js'
import type { InlineLoader, ReadPiece, StagedFile } from './blobs.js'
import { crc64Combine } from '../../util/crc64.js'
import { randomBase64url } from '../../util/random.js'
import { GrowingBuffer, GrowingFile } from './growing.js'
import type { HotBodiesOptions } from './hot-bodies.js'
import { Meta } from './meta.js'
import type { BucketRow, ObjectRow, PartRow, UploadRow } from './meta.js'
import { ChangeEpoch } from './epoch.js'
import { RowCache } from './row-cache.js'

/** Descriptors opened before openObject returns; pieces beyond are opened when reached (see openObject). */
const MAX_EAGER_FDS = 256
/** Inline bytes read before openObject returns (memory per open stream); pieces beyond are read when reached. */
const MAX_EAGER_INLINE = 1024 * 1024
/** Staged bodies larger than this (or of unknown length) are hashed on a worker thread. */
const THREADED_HASH_SIZE = 8 * 1024 * 1024
/** Objects up to this size keep their blob descriptors in the FdCache. */
const CACHEABLE_OBJECT_SIZE = 1024 * 1024

const pause = new Int32Array(new SharedArrayBuffer(4))

/**
 * Runs `fn`, retrying while another process holds the database lock (SQLITE_BUSY). SQLite's own
 * busy handler sleeps in steps of 1 ms and more; writers here hold the lock for well under a
 * millisecond, so we retry after 25 µs, doubling up to 1 ms, for at most 10 s.
 */
function retryBusy<T>(fn: () => T): T {
  let wait = 0.025
  let waited = 0
  for (;;) {
    try {
      return fn()
    } catch (err) {
      const code = (err as { code?: unknown }).code
      if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY') || waited > 10_000) throw err
      Atomics.wait(pause, 0, 0, wait)
      waited += wait
      wait = Math.min(wait * 2, 1)
    }
  }
}

/** Where a record's bytes live, carried on the records this store returns (survives object spread). */
const CONTENT = Symbol('mirrorstore.embedded.content')
interface Content {
  readonly blob: string | null
  readonly cid: string | null
}
/**
 * A single blob's bytes when it is inline, null when it is a file; absent when not looked up
 * (piecesOf then asks the database). Immutable, like every blob: safe to share. Not enumerable:
 * records compare equal whether or not they carry it, and a spread copy simply goes without.
 */
const INLINE_BYTES = Symbol('mirrorstore.embedded.inline-bytes')
type StoredRecord = ObjectRecord & { readonly [CONTENT]?: Content; readonly [INLINE_BYTES]?: Buffer | null }

/** A staged body: a fsynced file `blobs/xx/<id>`, or (`inline`) bytes in memory to commit with the row. */
class EmbeddedStagedBlob implements StagedBlob {
  readonly id: string
  readonly size: number
  readonly md5: Buffer
  readonly crc64: bigint
  readonly inline: Buffer | undefined
  state: 'staged' | 'committed' | 'discarded' = 'staged'
  private readonly files: BlobFiles

  constructor(files: BlobFiles, f: StagedFile) {
    this.files = files
    this.id = f.id
    this.size = f.size
    this.md5 = f.md5
    this.crc64 = f.crc64
    this.inline = f.inline
  }

  async discard(): Promise<void> {
    if (this.state !== 'staged') return
    this.state = 'discarded'
    if (this.inline === undefined) await this.files.remove(this.id)
  }
}

export interface EmbeddedStoreOptions {
  /** The clock for write times, retention and upload ids (tests inject one). */
  readonly now?: () => Date
  /** The hot-body cache's limits and its read observer (metrics); defaults in ./hot-bodies.ts. */
  readonly hot?: HotBodiesOptions
}

export class EmbeddedStore implements ObjectStore {
  readonly dataDir: string
  private readonly meta: Meta
  private readonly files: BlobFiles
  private readonly now: () => Date
  /** Runs a function in a transaction: `.immediate(fn)` for writes, `.deferred(fn)` for consistent reads. */
  private readonly tx: Database.Transaction<(fn: () => unknown) => unknown>
  private readonly unlinking = new Set<Promise<void>>()
  private uploadSeq = 0
  /** Records found recently; see ./row-cache.ts for when they are valid. */
  private readonly cache = new RowCache<Bucket, StoredRecord>()
  /** Tells this store's cache that another process committed (see ./epoch.ts). */
  private readonly epoch: ChangeEpoch

  private constructor(dataDir: string, options: EmbeddedStoreOptions) {
    this.dataDir = dataDir
    fs.mkdirSync(dataDir, { recursive: true })
    this.files = new BlobFiles(dataDir, options.hot)
    this.meta = new Meta(path.join(dataDir, 'meta.db'))
    this.epoch = new ChangeEpoch(path.join(dataDir, 'epoch'))
    this.now = options.now ?? (() => new Date())
    this.tx = this.meta.db.transaction((fn: () => unknown) => fn())
  }

  static open(dataDir: string, options: EmbeddedStoreOptions = {}): EmbeddedStore {
    return new EmbeddedStore(dataDir, options)
  }

  // ── transactions ──

  /** Runs `fn` in BEGIN IMMEDIATE; after COMMIT unlinks the blobs whose last reference `fn` dropped. */
  private write<T>(fn: (freed: string[]) => T): T {
    let freed: string[] = []
    let result: T
    try {
      result = retryBusy(() => {
        freed = []
        return this.tx.immediate(() => fn(freed)) as T
      })
      // Committed: other processes' caches learn of it before anyone is answered.
      this.epoch.bump()
    } finally {
      // Empty the cache now: a later lookup in this synchronous run must not serve what fn changed.
      this.cache.committed()
    }
    for (const id of freed) {
      const p = this.files.remove(id).catch(() => undefined)
      this.unlinking.add(p)
      void p.finally(() => this.unlinking.delete(p))
    }
    return result
  }

  private read<T>(fn: () => T): T {
    return retryBusy(() => this.tx.deferred(fn) as T)
  }

  /** Bytes the hot-body cache keeps alive (metrics). */
  get hotHeldBytes(): number {
    return this.files.hot.heldBytes
  }

  /** Resolves once the blob unlinks started by past writes have finished (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.unlinking])
  }

  private ref(blob: string, size: number): void {
    this.meta.blobRef.run(blob, size)
  }

  /** The first reference to a staged blob: an inline blob's bytes are written with it. */
  private refStaged(staged: EmbeddedStagedBlob): void {
    this.ref(staged.id, staged.size)
    if (staged.inline !== undefined) this.meta.bytesInsert.run(staged.id, staged.inline)
  }

  /** Drops a reference; the last one frees the blob: an inline blob's bytes now, a file after COMMIT. */
  private unref(blob: string, freed: string[]): void {
    const row = this.meta.blobUnref.get(blob)
    if (row !== undefined && row.refs <= 0) {
      this.meta.blobForget.run(blob)
      if (this.meta.bytesDelete.run(blob).changes === 0) freed.push(blob)
    }
  }

  /** Drops an object row's references to its bytes (the row itself is replaced or deleted by the caller). */
  private freeContent(row: ObjectRow, freed: string[]): void {
    if (row.blob !== null) this.unref(row.blob, freed)
    if (row.cid !== null) {
      for (const seg of this.meta.segmentsOf.all(row.cid)) this.unref(seg.blob, freed)
      this.meta.segmentsDelete.run(row.cid)
    }
  }

  private take(blob: StagedBlob): EmbeddedStagedBlob {
    if (!(blob instanceof EmbeddedStagedBlob) || blob.state !== 'staged') {
      throw new TypeError('StagedBlob was not staged by this store, or was already committed or discarded')
    }
    return blob
  }

  private bucketRow(name: string): BucketRow {
    const row = this.meta.bucketGet.get(name)
    if (row === undefined) throw new StoreError('BucketNotFound', { bucket: name })
    return row
  }

  /** Preconditions and retention for writing over `existing`, inside the write transaction. */
  private checkWrite(bucket: BucketRow, key: string, existing: ObjectRow | undefined, now: Date, condition: WriteCondition | undefined): void {
    const expect = condition?.expectVersion
    if (expect !== undefined && (expect === null ? existing !== undefined : existing?.version !== expect)) {
      throw new StoreError('ObjectChanged', { bucket: bucket.name, key })
    }
    if (existing === undefined) return
    const isProt = isProtected(toBucket(bucket), new Date(existing.written_at), now)
    if (condition?.mustBeAbsent === true) throw new StoreError(isProt ? 'ObjectImmutable' : 'ObjectExists', { bucket: bucket.name, key })
    if (condition?.forbidOverwrite === true) throw new StoreError('ObjectExists', { bucket: bucket.name, key })
    if (isProt) throw new StoreError('ObjectImmutable', { bucket: bucket.name, key })
  }

  // ── buckets ──

  createBucket(input: NewBucket): Bucket {
    return this.write(() => {
      if (this.meta.bucketGet.get(input.name) !== undefined) throw new StoreError('BucketExists', { bucket: input.name })
      const row: BucketRow = {
        name: input.name,
        created_at: this.now().getTime(),
        acl: input.acl,
        storage_class: input.storageClass,
        redundancy: input.redundancy,
        website: null,
        worm_id: null,
        worm_state: null,
        worm_days: null,
        worm_created_at: null,
      }
      this.meta.bucketInsert.run(row)
      return toBucket(row)
    })
  }

  findBucket(name: string): Bucket | undefined {
    this.validateCache()
    const cached = this.cache.bucket(name)
    if (cached !== undefined) return cached
    const row = retryBusy(() => this.meta.bucketGet.get(name))
    if (row === undefined) return undefined
    const bucket = Object.freeze(toBucket(row))
    this.cache.setBucket(name, bucket)
    return bucket
  }

  /** Empties the record cache if another process has committed since it was filled (see ./row-cache.ts). */
  private validateCache(): void {
    this.cache.validate(this.readEpoch)
  }

  private readonly readEpoch = (): number => this.epoch.read()

  listBuckets(query: ListBucketsQuery): { buckets: Bucket[]; truncated: boolean } {
    const buckets: Bucket[] = []
    let truncated = false
    const from = compareUtf8(query.prefix, query.marker) > 0 ? query.prefix : query.marker
    for (const row of this.meta.bucketsFrom.iterate(from)) {
      if (row.name === query.marker) continue
      if (!row.name.startsWith(query.prefix)) break
      if (buckets.length >= query.maxKeys) {
        truncated = true
        break
      }
      buckets.push(toBucket(row))
    }
    return { buckets, truncated }
  }

  deleteBucket(name: string): void {
    this.write(() => {
      this.bucketRow(name)
      if (this.meta.objectAny.get(name) !== undefined || this.meta.uploadAny.get(name) !== undefined) {
        throw new StoreError('BucketNotEmpty', { bucket: name })
      }
      this.meta.bucketDelete.run(name)
    })
  }

  updateBucket(name: string, patch: { acl?: BucketAcl; website?: string | null; worm?: WormPolicy | null }): Bucket {
    return this.write(() => {
      const row = { ...this.bucketRow(name) }
      if (patch.acl !== undefined) row.acl = patch.acl
      if (patch.website !== undefined) row.website = patch.website
      if (patch.worm === null) {
        row.worm_id = row.worm_state = null
        row.worm_days = row.worm_created_at = null
      } else if (patch.worm !== undefined) {
        row.worm_id = patch.worm.id
        row.worm_state = patch.worm.state
        row.worm_days = patch.worm.days
        row.worm_created_at = patch.worm.createdAt.getTime()
      }
      this.meta.bucketUpdate.run(row)
      return toBucket(row)
    })
  }

  // ── objects ──

  findObject(bucket: string, key: string): ObjectRecord | undefined {
    this.validateCache()
    const cached = this.cache.object(bucket, key)
    if (cached !== undefined) return cached
    const row = retryBusy(() => this.meta.objectGetWithBytes.get(bucket, key))
    if (row === undefined) return undefined
    const record = toRecord(row, row.blob === null ? undefined : row.inline_data)
    Object.freeze(record.headers)
    Object.freeze(record.userMeta)
    this.cache.setObject(bucket, key, Object.freeze(record), row.inline_data?.length ?? 0)
    return record
  }

  /**
   * Opens the descriptors synchronously (see the file comment). Throws ObjectChanged when `object`
   * is no longer current and its bytes are gone. For objects of more than MAX_EAGER_FDS segments
   * the later segments are opened as the stream reaches them; if such a file was freed meanwhile
   * (the key overwritten or deleted) the stream fails with ObjectChanged instead of sending wrong bytes.
   */
  openObject(object: ObjectRecord, range?: ByteRange): Readable {
    const pieces = this.piecesOf(object, range)
    if (pieces.length === 0) return emptyStream()
    try {
      return this.files.open(pieces, MAX_EAGER_FDS, MAX_EAGER_INLINE, this.inlineBytes, () => changed(object))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw changed(object)
      throw err
    }
  }

  readObject(object: ObjectRecord, range?: ByteRange): Promise<Buffer> {
    const pieces = this.piecesOf(object, range)
    const only = pieces[0]
    // Bytes the record carries are immutable: a view of them needs no copy.
    if (pieces.length === 1 && only?.data !== undefined) return Promise.resolve(only.data.subarray(only.offset, only.offset + only.length))
    try {
      return this.files.read(pieces, this.inlineBytes)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw changed(object)
      throw err
    }
  }

  /**
   * Single-blob objects up to the hot-body limit come from the per-process hot-body cache (see
   * ./hot-bodies.ts): one read for every concurrent reader, one Buffer shared by all of them.
   * Objects made of segments (multipart, appendable) are not held: undefined, the caller streams.
   */
  async openShared(object: ObjectRecord, range?: ByteRange): Promise<SharedBody | undefined> {
    const blob = (object as StoredRecord)[CONTENT]?.blob
    if (blob === undefined || blob === null || object.size === 0 || object.size > this.files.hot.maxBody) return undefined
    const piece = this.piecesOf(object, range)[0]
    // Inline bytes come from the database with every read (readObject): not cached here.
    if (piece === undefined || piece.inline === true) return undefined
    let pending
    try {
      pending = this.files.readHot(blob, object.size)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw changed(object)
      throw err
    }
    if (pending === undefined) return undefined
    const lease = await pending
    const bytes = piece.offset === 0 && piece.length === object.size ? lease.bytes : lease.bytes.subarray(piece.offset, piece.offset + piece.length)
    return { bytes, release: () => lease.release() }
  }

  /** Where the bytes of `range` of `object` live; throws ObjectChanged when the version is gone. */
  private piecesOf(object: ObjectRecord, range: ByteRange | undefined): ReadPiece[] {
    let content = (object as StoredRecord)[CONTENT]
    if (content === undefined) {
      const row = this.meta.objectGet.get(object.bucket, object.key)
      if (row?.version !== object.version) throw changed(object)
      content = { blob: row.blob, cid: row.cid }
    }
    const start = range?.start ?? 0
    const end = Math.min(range?.end ?? object.size - 1, object.size - 1)
    if (end < start) return []
    const length = end - start + 1
    // Blobs of small objects are small: their descriptors may stay open between reads.
    const cacheable = object.size <= CACHEABLE_OBJECT_SIZE
    if (content.blob !== null) {
      const bytes = (object as StoredRecord)[INLINE_BYTES]
      if (bytes !== undefined) {
        const data = bytes ?? undefined
        return [{ blob: content.blob, offset: start, length, cacheable, inline: data !== undefined, data }]
      }
      // A blob over INLINE_MAX bytes is always a file: only smaller ones need the lookup.
      const inline = object.size <= INLINE_MAX && this.meta.bytesExist.get(content.blob) !== undefined
      return [{ blob: content.blob, offset: start, length, cacheable, inline }]
    }
    const pieces: ReadPiece[] = []
    let covered = 0
    for (const seg of this.meta.segmentsInRange.iterate({ cid: content.cid ?? '', start, end })) {
      const from = Math.max(start, seg.pos)
      const to = Math.min(end, seg.pos + seg.len - 1)
      if (to < from) continue
      if (from !== start + covered) break
      pieces.push({ blob: seg.blob, offset: seg.off + (from - seg.pos), length: to - from + 1, cacheable, inline: seg.inline !== 0 })
      covered += to - from + 1
    }
    // Rows gone (the object was replaced or deleted): this version cannot be read any more.
    if (covered !== length) throw changed(object)
    return pieces
  }

  /** Reads an inline piece's bytes (undefined once its blob is freed). */
  private readonly inlineBytes: InlineLoader = (piece) =>
    piece.data !== undefined
      ? piece.data.subarray(piece.offset, piece.offset + piece.length)
      : retryBusy(() => this.meta.bytesGet.get({ id: piece.blob, off: piece.offset, len: piece.length }))?.data

  /**
   * A body announced at no more than INLINE_MAX bytes is staged in memory and commits inline;
   * others (larger, or of unknown length) go to a staging file.
   */
  async openStaging(options: { readonly maxSize: number; readonly expectedSize?: number | undefined }): Promise<StagingBlob> {
    const expected = options.expectedSize
    // Large or unknown-length bodies are hashed on a worker thread, overlapping with the event loop.
    const file =
      expected !== undefined && expected <= INLINE_MAX
        ? new GrowingBuffer(expected, options.maxSize)
        : await GrowingFile.create(this.files, options.maxSize, expected === undefined || expected > THREADED_HASH_SIZE)
    const files = this.files
    return {
      get size() {
        return file.size
      },
      write: (chunk) => file.write(chunk),
      release: (bytes, complete) => file.release(bytes, complete),
      tail: (start, end) => file.tail(start, end),
      abort: (reason) => file.abort(reason),
      finish: async () => new EmbeddedStagedBlob(files, await file.finish()),
    }
  }

  /** Up to INLINE_MAX bytes stay in memory and commit inline; a longer body spills to a staging file. */
  async stageBlob(body: Readable, options: StageOptions): Promise<StagedBlob> {
    return new EmbeddedStagedBlob(this.files, await this.files.stage(body, options.maxSize, options.signal))
  }

  putObject(bucket: string, key: string, blob: StagedBlob, attributes: ObjectAttributes, condition?: WriteCondition): ObjectRecord {
    const staged = this.take(blob)
    const record = this.write((freed) => {
      const b = this.bucketRow(bucket)
      const now = this.now()
      const existing = this.meta.objectGet.get(bucket, key)
      this.checkWrite(b, key, existing, now, condition)
      if (existing !== undefined) this.freeContent(existing, freed)
      this.refStaged(staged)
      const md5hex = staged.md5.toString('hex').toUpperCase()
      const row = newRow(bucket, key, attributes, now, {
        size: staged.size,
        etag: md5hex,
        md5: md5hex,
        crc64: staged.crc64.toString(),
        type: 'Normal',
        blob: staged.id,
        cid: null,
      })
      this.meta.objectUpsert.run(row)
      return toRecord(row)
    })
    staged.state = 'committed'
    return record
  }

  /**
   * Computes and caches the content MD5 of a Multipart or Appendable object by streaming it, so a
   * following copyObject of it need not read the bytes synchronously. Optional: without it,
   * copyObject computes the MD5 itself.
   */
  async prepareCopy(source: ObjectRecord): Promise<void> {
    const row = this.meta.objectGet.get(source.bucket, source.key)
    if (row?.version !== source.version || row.md5 !== null) return
    const hash = createHash('md5')
    for await (const chunk of this.openObject(source)) hash.update(chunk as Buffer)
    this.write(() => this.meta.objectSetMd5.run(hash.digest('hex').toUpperCase(), source.bucket, source.key, source.version))
  }

  copyObject(source: ObjectRecord, bucket: string, key: string, attributes: ObjectAttributes, condition?: WriteCondition): ObjectRecord {
    const src = this.meta.objectGet.get(source.bucket, source.key)
    if (src?.version !== source.version) throw changed(source)
    // Known before the write lock: the MD5 of the source bytes (see the file comment).
    const md5hex = src.md5 ?? this.md5Sync(toRecord(src))
    return this.write((freed) => {
      const cur = this.meta.objectGet.get(source.bucket, source.key)
      if (cur?.version !== source.version) throw changed(source)
      const b = this.bucketRow(bucket)
      const now = this.now()
      const existing = this.meta.objectGet.get(bucket, key)
      this.checkWrite(b, key, existing, now, condition)
      if (cur.md5 === null) this.meta.objectSetMd5.run(md5hex, cur.bucket, cur.key, cur.version)
      // Take the new references before dropping the old ones: a self-copy shares its own blobs.
      let cid: string | null = null
      if (cur.blob !== null) this.ref(cur.blob, cur.size)
      if (cur.cid !== null) {
        cid = randomId()
        for (const seg of this.meta.segmentsOf.all(cur.cid)) {
          this.ref(seg.blob, seg.off + seg.len)
          this.meta.segmentInsert.run({ ...seg, cid })
        }
      }
      if (existing !== undefined) this.freeContent(existing, freed)
      const row = newRow(bucket, key, attributes, now, {
        size: cur.size,
        etag: md5hex,
        md5: md5hex,
        crc64: cur.crc64,
        type: 'Normal',
        blob: cur.blob,
        cid,
      })
      this.meta.objectUpsert.run(row)
      return toRecord(row)
    })
  }

  /** MD5 of an object's bytes read synchronously (copy of a source without a stored MD5). */
  private md5Sync(object: StoredRecord): string {
    const content = object[CONTENT] as Content
    const hash = createHash('md5')
    const pieces: ReadPiece[] =
      content.blob !== null
        ? [{ blob: content.blob, offset: 0, length: object.size }]
        : this.meta.segmentsOf.all(content.cid ?? '').map((s) => ({ blob: s.blob, offset: s.off, length: s.len }))
    // Files are opened up front; inline bytes are read one piece at a time (bounded memory), and
    // a piece freed meanwhile by another process means the source changed.
    const inline = pieces.map((p) => this.meta.bytesExist.get(p.blob) !== undefined)
    const fds: number[] = []
    try {
      try {
        pieces.forEach((p, i) => {
          if (inline[i] !== true) fds[i] = fs.openSync(this.files.pathOf(p.blob), 'r')
        })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw changed(object)
        throw err
      }
      const buf = Buffer.allocUnsafe(1024 * 1024)
      pieces.forEach((p, i) => {
        if (inline[i] === true) {
          hash.update(this.inlineBytes(p) ?? throwChanged(object))
          return
        }
        let done = 0
        while (done < p.length) {
          const n = fs.readSync(fds[i] as number, buf, 0, Math.min(buf.length, p.length - done), p.offset + done)
          if (n === 0) throw new Error(`Blob file "${p.blob}" is shorter than its row says`)
          hash.update(buf.subarray(0, n))
          done += n
        }
      })
    } finally {
      for (const fd of fds) if (fd !== undefined) fs.closeSync(fd)
    }
    return hash.digest('hex').toUpperCase()
  }

  appendObject(bucket: string, key: string, position: number, blob: StagedBlob, attributes: ObjectAttributes, maxSize: number): ObjectRecord {
    const staged = this.take(blob)
    const record = this.write((freed) => {
      const b = this.bucketRow(bucket)
      const now = this.now()
      const existing = this.meta.objectGet.get(bucket, key)
      const etag = randomBytes(16).toString('hex').toUpperCase()
      let row: ObjectRow
      if (existing === undefined) {
        if (position !== 0) throw new StoreError('PositionMismatch', { bucket, key, currentSize: 0 })
        if (staged.size > maxSize) throw new StoreError('BodyTooLarge', { bucket, key })
        const cid = randomId()
        if (staged.size > 0) this.meta.segmentInsert.run({ cid, pos: 0, blob: staged.id, off: 0, len: staged.size })
        row = newRow(bucket, key, attributes, now, {
          size: staged.size,
          etag,
          md5: null,
          crc64: staged.crc64.toString(),
          type: 'Appendable',
          blob: null,
          cid,
        })
      } else {
        if (existing.type !== 'Appendable') throw new StoreError('NotAppendable', { bucket, key })
        if (isProtected(toBucket(b), new Date(existing.written_at), now)) throw new StoreError('ObjectImmutable', { bucket, key })
        if (position !== existing.size) throw new StoreError('PositionMismatch', { bucket, key, currentSize: existing.size })
        if (existing.size + staged.size > maxSize) throw new StoreError('BodyTooLarge', { bucket, key })
        let cid = existing.cid
        if (cid === null) {
          // Not written by appendObject (cannot happen today): move its single blob into segments.
          cid = randomId()
          if (existing.blob !== null) this.meta.segmentInsert.run({ cid, pos: 0, blob: existing.blob, off: 0, len: existing.size })
        }
        if (staged.size > 0) this.meta.segmentInsert.run({ cid, pos: existing.size, blob: staged.id, off: 0, len: staged.size })
        const ms = now.getTime()
        row = {
          ...existing,
          size: existing.size + staged.size,
          etag,
          md5: null,
          crc64: crc64Combine(BigInt(existing.crc64), staged.crc64, staged.size).toString(),
          last_modified: ms,
          written_at: ms,
          lm_override: null,
          version: newVersion(),
          blob: null,
          cid,
        }
      }
      // An empty append adds no segment; its empty file (if not inline) goes like a freed blob.
      if (staged.size > 0) this.refStaged(staged)
      else if (staged.inline === undefined) freed.push(staged.id)
      this.meta.objectUpsert.run(row)
      return toRecord(row)
    })
    staged.state = 'committed'
    return record
  }

  deleteObject(bucket: string, key: string): boolean {
    return this.write((freed) => {
      const existing = this.meta.objectGet.get(bucket, key)
      if (existing === undefined) return false
      const b = this.bucketRow(bucket)
      if (isProtected(toBucket(b), new Date(existing.written_at), this.now())) throw new StoreError('ObjectImmutable', { bucket, key })
      this.freeContent(existing, freed)
      this.meta.objectDelete.run(bucket, key)
      return true
    })
  }

  deleteObjects(bucket: string, keys: readonly string[]): void {
    this.write((freed) => {
      const b = this.meta.bucketGet.get(bucket)
      if (b === undefined) return
      const wormBucket = toBucket(b)
      const now = this.now()
      const rows: ObjectRow[] = []
      for (const key of new Set(keys)) {
        const existing = this.meta.objectGet.get(bucket, key)
        if (existing === undefined) continue
        if (isProtected(wormBucket, new Date(existing.written_at), now)) throw new StoreError('ObjectImmutable', { bucket, key })
        rows.push(existing)
      }
      for (const row of rows) {
        this.freeContent(row, freed)
        this.meta.objectDelete.run(bucket, row.key)
      }
    })
  }

  setObjectAcl(bucket: string, key: string, acl: ObjectAcl): ObjectRecord {
    return this.write(() => {
      const existing = this.meta.objectGet.get(bucket, key)
      if (existing === undefined) throw new StoreError('ObjectNotFound', { bucket, key })
      this.meta.objectSetAcl.run(acl, bucket, key)
      return toRecord({ ...existing, acl })
    })
  }

  listObjects(bucket: string, query: ListObjectsQuery): ListObjectsResult {
    const { prefix, delimiter, startAfter, maxKeys } = query
    return this.read(() => {
      const entries: ListEntry[] = []
      let truncated = false
      let bound = startAfter
      let inclusive = false
      if (compareUtf8(prefix, startAfter) > 0) {
        bound = prefix
        inclusive = true
      }
      scan: for (;;) {
        let seek: string | undefined
        for (const row of (inclusive ? this.meta.objectsFrom : this.meta.objectsAfter).iterate(bucket, bound)) {
          if (!row.key.startsWith(prefix)) break scan
          const common = commonPrefix(row.key, prefix, delimiter)
          if (common !== undefined) {
            // A prefix at or before the marker is skipped, like a key; either way jump past its keys.
            if (compareUtf8(common, startAfter) > 0) {
              if (entries.length >= maxKeys) {
                truncated = true
                break scan
              }
              entries.push({ kind: 'prefix', prefix: common })
            }
            seek = successor(common)
            break
          }
          if (entries.length >= maxKeys) {
            truncated = true
            break scan
          }
          entries.push({ kind: 'object', object: toRecord(row) })
        }
        if (seek === undefined) break
        bound = seek
        inclusive = true
      }
      const last = entries.at(-1)
      const nextMarker = truncated && last !== undefined ? (last.kind === 'object' ? last.object.key : last.prefix) : undefined
      return { entries, truncated, nextMarker }
    })
  }

  hasObjects(bucket: string): boolean {
    return this.meta.objectAny.get(bucket) !== undefined
  }

  // ── multipart ──

  createUpload(bucket: string, key: string, attributes: ObjectAttributes): Upload {
    return this.write(() => {
      this.bucketRow(bucket)
      const now = this.now()
      const row: UploadRow = { upload_id: this.newUploadId(now), bucket, key, initiated: now.getTime(), attributes: encodeAttributes(attributes) }
      this.meta.uploadInsert.run(row)
      return toUpload(row)
    })
  }

  /** 12 hex of milliseconds, 4 of a per-process sequence, 16 random: string order follows creation order. */
  private newUploadId(now: Date): string {
    this.uploadSeq = (this.uploadSeq + 1) & 0xffff
    const ms = now.getTime().toString(16).padStart(12, '0')
    const seq = this.uploadSeq.toString(16).padStart(4, '0')
    return (ms + seq + randomBytes(8).toString('hex')).toUpperCase()
  }

  findUpload(bucket: string, key: string, uploadId: string): Upload | undefined {
    const row = retryBusy(() => this.meta.uploadGet.get(uploadId))
    return row === undefined || row.bucket !== bucket || row.key !== key ? undefined : toUpload(row)
  }

  private uploadRow(upload: Upload): UploadRow {
    const row = this.meta.uploadGet.get(upload.uploadId)
    if (row?.bucket !== upload.bucket || row.key !== upload.key) {
      throw new StoreError('UploadNotFound', { bucket: upload.bucket, key: upload.key })
    }
    return row
  }

  putPart(upload: Upload, partNumber: number, blob: StagedBlob): Part {
    const staged = this.take(blob)
    const part = this.write((freed) => {
      this.uploadRow(upload)
      const old = this.meta.partGet.get(upload.uploadId, partNumber)
      if (old !== undefined) this.unref(old.blob, freed)
      this.refStaged(staged)
      const row: PartRow = {
        upload_id: upload.uploadId,
        part_number: partNumber,
        blob: staged.id,
        size: staged.size,
        etag: staged.md5.toString('hex').toUpperCase(),
        crc64: staged.crc64.toString(),
        last_modified: this.now().getTime(),
      }
      this.meta.partUpsert.run(row)
      return toPart(row)
    })
    staged.state = 'committed'
    return part
  }

  listParts(upload: Upload, query: ListPartsQuery): ListPartsResult {
    return this.read(() => {
      this.uploadRow(upload)
      const rows = this.meta.partsAfter.all(upload.uploadId, query.partNumberMarker, query.maxParts + 1)
      const truncated = rows.length > query.maxParts
      const parts = rows.slice(0, query.maxParts).map(toPart)
      return { parts, truncated, nextPartNumberMarker: parts.at(-1)?.partNumber ?? query.partNumberMarker }
    })
  }

  listUploads(bucket: string, query: ListUploadsQuery): ListUploadsResult {
    const { prefix, delimiter, keyMarker, maxUploads } = query
    // The upload-id marker counts only together with a key marker.
    const idMarker = keyMarker === '' ? '' : query.uploadIdMarker
    return this.read(() => {
      const entries: UploadListEntry[] = []
      let truncated = false
      let start: () => IterableIterator<UploadRow>
      if (compareUtf8(prefix, keyMarker) > 0) start = () => this.meta.uploadsFrom.iterate(bucket, prefix)
      else if (idMarker !== '') start = () => this.meta.uploadsAfterPair.iterate(bucket, keyMarker, idMarker)
      else start = () => this.meta.uploadsAfter.iterate(bucket, keyMarker)
      scan: for (;;) {
        let seek: string | undefined
        for (const row of start()) {
          if (!row.key.startsWith(prefix)) break scan
          const common = commonPrefix(row.key, prefix, delimiter)
          if (common !== undefined) {
            if (compareUtf8(common, keyMarker) > 0) {
              if (entries.length >= maxUploads) {
                truncated = true
                break scan
              }
              entries.push({ kind: 'prefix', prefix: common })
            }
            seek = successor(common)
            break
          }
          if (entries.length >= maxUploads) {
            truncated = true
            break scan
          }
          entries.push({ kind: 'upload', upload: toUpload(row) })
        }
        if (seek === undefined) break
        const from = seek
        start = () => this.meta.uploadsFrom.iterate(bucket, from)
      }
      const last = entries.at(-1)
      let nextKeyMarker = ''
      let nextUploadIdMarker = ''
      if (truncated && last !== undefined) {
        if (last.kind === 'upload') {
          nextKeyMarker = last.upload.key
          nextUploadIdMarker = last.upload.uploadId
        } else nextKeyMarker = last.prefix
      }
      return { entries, truncated, nextKeyMarker, nextUploadIdMarker }
    })
  }

  completeUpload(upload: Upload, options: CompleteOptions, condition?: WriteCondition): ObjectRecord {
    return this.write((freed) => {
      const up = this.uploadRow(upload)
      const { bucket, key } = up
      const all = this.meta.partsOf.all(up.upload_id)
      let chosen: PartRow[]
      if (options.parts === 'all') chosen = all
      else {
        const byNumber = new Map(all.map((p) => [p.part_number, p]))
        chosen = []
        let prev = 0
        for (const p of options.parts) {
          if (p.partNumber <= prev) throw new StoreError('InvalidPartOrder', { bucket, key, partNumber: p.partNumber })
          prev = p.partNumber
          const row = byNumber.get(p.partNumber)
          if (row === undefined || normalizeEtag(p.etag) !== row.etag) throw new StoreError('InvalidPart', { bucket, key, partNumber: p.partNumber })
          chosen.push(row)
        }
      }
      if (chosen.length === 0) throw new StoreError('InvalidPart', { bucket, key })
      for (let i = 0; i < chosen.length - 1; i++) {
        const p = chosen[i] as PartRow
        if (p.size < options.minPartSize) throw new StoreError('PartTooSmall', { bucket, key, partNumber: p.part_number })
      }
      const b = this.bucketRow(bucket)
      const now = this.now()
      const existing = this.meta.objectGet.get(bucket, key)
      this.checkWrite(b, key, existing, now, condition)

      // The parts' blobs become the segments: each part's reference moves to its segment row.
      const cid = randomId()
      const md5s = createHash('md5')
      let pos = 0
      let crc = 0n
      for (const p of chosen) {
        this.meta.segmentInsert.run({ cid, pos, blob: p.blob, off: 0, len: p.size })
        pos += p.size
        crc = crc64Combine(crc, BigInt(p.crc64), p.size)
        md5s.update(Buffer.from(p.etag, 'hex'))
      }
      const kept = new Set(chosen)
      for (const p of all) if (!kept.has(p)) this.unref(p.blob, freed)
      this.meta.partsDelete.run(up.upload_id)
      this.meta.uploadDelete.run(up.upload_id)
      if (existing !== undefined) this.freeContent(existing, freed)
      const row = newRow(bucket, key, decodeAttributes(up.attributes), now, {
        size: pos,
        etag: `${md5s.digest('hex').toUpperCase()}-${chosen.length}`,
        md5: null,
        crc64: crc.toString(),
        type: 'Multipart',
        blob: null,
        cid,
      })
      this.meta.objectUpsert.run(row)
      return toRecord(row)
    })
  }

  abortUpload(upload: Upload): void {
    this.write((freed) => {
      const up = this.uploadRow(upload)
      for (const p of this.meta.partsOf.all(up.upload_id)) this.unref(p.blob, freed)
      this.meta.partsDelete.run(up.upload_id)
      this.meta.uploadDelete.run(up.upload_id)
    })
  }

  // ── lifecycle ──

  /** Removes tmp/* and every blob file without a blobs row; inline blobs have no file and are never touched. Only safe while no other writer runs (start-up). */
  async sweep(): Promise<{ removedFiles: number; removedBytes: number }> {
    let removedFiles = 0
    let removedBytes = 0
    for (const [file, id] of await this.files.listFiles()) {
      if (id !== undefined && this.meta.blobExists.get(id) !== undefined) continue
      try {
        const st = await fs.promises.stat(file)
        await fs.promises.rm(file, { force: true })
        removedFiles++
        removedBytes += st.size
      } catch {
        // already gone
      }
    }
    return { removedFiles, removedBytes }
  }

  close(): void {
    this.files.fds.closeAll()
    this.files.hot.close()
    this.meta.close()
    this.epoch.close()
  }
}

// ── rows ↔ records ──

function emptyStream(): Readable {
  return new Readable({
    read(): void {
      this.push(null)
    },
  })
}

function changed(object: { bucket: string; key: string }): StoreError {
  return new StoreError('ObjectChanged', { bucket: object.bucket, key: object.key })
}

function throwChanged(object: { bucket: string; key: string }): never {
  throw changed(object)
}

function newVersion(): string {
  return randomBase64url(12)
}

function toBucket(row: BucketRow): Bucket {
  let worm: WormPolicy | undefined
  if (row.worm_id !== null) {
    worm = {
      id: row.worm_id,
      state: row.worm_state === 'Locked' ? 'Locked' : 'InProgress',
      days: row.worm_days ?? 0,
      createdAt: new Date(row.worm_created_at ?? 0),
    }
  }
  return {
    name: row.name,
    createdAt: new Date(row.created_at),
    acl: row.acl as BucketAcl,
    storageClass: row.storage_class as StorageClass,
    redundancy: row.redundancy as Redundancy,
    website: row.website ?? undefined,
    worm,
  }
}

interface ContentColumns {
  size: number
  etag: string
  md5: string | null
  crc64: string
  type: ObjectType
  blob: string | null
  cid: string | null
}

function newRow(bucket: string, key: string, a: ObjectAttributes, now: Date, c: ContentColumns): ObjectRow {
  const ms = now.getTime()
  const override = a.lastModifiedOverride?.getTime() ?? null
  return {
    bucket,
    key,
    ...c,
    last_modified: override ?? ms,
    written_at: ms,
    lm_override: override,
    version: newVersion(),
    headers: JSON.stringify(a.headers),
    user_meta: JSON.stringify(a.userMeta),
    acl: a.acl,
    storage_class: a.storageClass,
    tagging: a.tagging ?? null,
    mirrored: a.mirrored ? 1 : 0,
  }
}

/** `bytes`: the single blob's bytes if inline, null if a file, undefined if not looked up (see INLINE_BYTES). */
function toRecord(row: ObjectRow, bytes?: Buffer | null): StoredRecord {
  const record: StoredRecord = {
    bucket: row.bucket,
    key: row.key,
    size: row.size,
    etag: row.etag,
    contentMd5: row.type === 'Normal' && row.md5 !== null ? Buffer.from(row.md5, 'hex').toString('base64') : undefined,
    crc64: row.crc64,
    lastModified: new Date(row.last_modified),
    writtenAt: new Date(row.written_at),
    type: row.type as ObjectType,
    version: row.version,
    headers: JSON.parse(row.headers) as StoredHeaders,
    userMeta: JSON.parse(row.user_meta) as Array<[string, string]>,
    acl: row.acl as ObjectAcl,
    storageClass: row.storage_class as StorageClass,
    tagging: row.tagging ?? undefined,
    mirrored: row.mirrored !== 0,
    ...(row.lm_override === null ? {} : { lastModifiedOverride: new Date(row.lm_override) }),
    [CONTENT]: { blob: row.blob, cid: row.cid },
  }
  if (bytes !== undefined) Object.defineProperty(record, INLINE_BYTES, { value: bytes, enumerable: false })
  return record
}

interface EncodedAttributes {
  h: StoredHeaders
  m: Array<[string, string]>
  a: ObjectAcl
  s: StorageClass
  t: string | null
  r: boolean
  l: number | null
}

function encodeAttributes(a: ObjectAttributes): string {
  const e: EncodedAttributes = {
    h: a.headers,
    m: a.userMeta.map(([k, v]) => [k, v]),
    a: a.acl,
    s: a.storageClass,
    t: a.tagging ?? null,
    r: a.mirrored,
    l: a.lastModifiedOverride?.getTime() ?? null,
  }
  return JSON.stringify(e)
}

function decodeAttributes(s: string): ObjectAttributes {
  const e = JSON.parse(s) as EncodedAttributes
  return {
    headers: e.h,
    userMeta: e.m,
    acl: e.a,
    storageClass: e.s,
    tagging: e.t ?? undefined,
    mirrored: e.r,
    ...(e.l === null ? {} : { lastModifiedOverride: new Date(e.l) }),
  }
}

function toUpload(row: UploadRow): Upload {
  return { bucket: row.bucket, key: row.key, uploadId: row.upload_id, initiated: new Date(row.initiated), attributes: decodeAttributes(row.attributes) }
}

function toPart(row: PartRow): Part {
  return { partNumber: row.part_number, size: row.size, etag: row.etag, crc64: row.crc64, lastModified: new Date(row.last_modified) }
}

function normalizeEtag(etag: string): string {
  let e = etag.trim()
  if (e.length >= 2 && e.startsWith('"') && e.endsWith('"')) e = e.slice(1, -1)
  return e.toUpperCase()
}

// ── byte order helpers ──

/** Compares strings by the byte order of their UTF-8 encodings (= code point order), without encoding them. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    // UTF-16 puts U+E000..U+FFFF above the surrogates that encode U+10000..; code point order does not.
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000
    return x - y
  }
  return a.length - b.length
}

/** The common prefix `key` rolls up into (prefix + text through the next delimiter), if any. */
function commonPrefix(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '') return undefined
  const at = key.indexOf(delimiter, prefix.length)
  return at < 0 ? undefined : key.slice(0, at + delimiter.length)
}

/**
 * The least string above every string that starts with `s`, in code point order: `s` with its last
 * code point incremented (surrogates skipped). Seeking `key >= successor(p)` passes all keys under p
 * in one index lookup.
 */
export function successor(s: string): string {
  const cps = Array.from(s)
  while (cps.length > 0) {
    const last = (cps.pop() as string).codePointAt(0) as number
    if (last < 0x10ffff) {
      const next = last === 0xd7ff ? 0xe000 : last + 1
      return cps.join('') + String.fromCodePoint(next)
    }
  }
  // Only U+10FFFF characters: nothing valid sorts above all their extensions; an unreachable bound.
  return '\u{10ffff}'.repeat(s.length + 1)
}
