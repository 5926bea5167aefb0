/**
 * The storage contract. The store knows buckets, objects, uploads and retention; it knows no HTTP,
 * no XML and no OSS error codes. Errors it throws are the typed errors of ./errors.ts.
 *
 * Atomicity: every method that changes state either commits whole or throws having changed
 * nothing. A body is staged (hashed; a large one written to a temp file and fsynced, a small one
 * held in memory to be written with its row) before any row refers to it, and a row becomes
 * visible only in the transaction that commits it.
 */
import type { Readable } from 'node:stream'

export type BucketAcl = 'private' | 'public-read' | 'public-read-write'
export type ObjectAcl = BucketAcl | 'default'
export type StorageClass = 'Standard' | 'IA' | 'Archive' | 'ColdArchive'
export type Redundancy = 'LRS' | 'ZRS'
export type ObjectType = 'Normal' | 'Multipart' | 'Appendable'

export interface WormPolicy {
  /** 32 uppercase hex characters. */
  readonly id: string
  readonly state: 'InProgress' | 'Locked'
  readonly days: number
  readonly createdAt: Date
}

export interface Bucket {
  readonly name: string
  readonly createdAt: Date
  readonly acl: BucketAcl
  readonly storageClass: StorageClass
  readonly redundancy: Redundancy
  /** The website (mirror rules) configuration, opaque to the store: the api layer's serialized form. */
  readonly website: string | undefined
  /** Raw stored policy; a lapsed InProgress policy is still returned here, see ./worm.ts effectiveWorm. */
  readonly worm: WormPolicy | undefined
}

export interface NewBucket {
  readonly name: string
  readonly acl: BucketAcl
  readonly storageClass: StorageClass
  readonly redundancy: Redundancy
}

/** Standard headers stored with an object, lowercase names, values byte-exact (latin1 strings as Node gives them). */
export type StoredHeaderName =
  | 'content-type'
  | 'content-encoding'
  | 'content-disposition'
  | 'content-language'
  | 'cache-control'
  | 'expires'
  | 'access-control-allow-origin'
export type StoredHeaders = Partial<Record<StoredHeaderName, string>>

/** What a writer supplies about an object besides its bytes. */
export interface ObjectAttributes {
  readonly headers: StoredHeaders
  /** User metadata as [lowercased name without the `x-oss-meta-` prefix, value], in the order received. */
  readonly userMeta: ReadonlyArray<readonly [string, string]>
  readonly acl: ObjectAcl
  readonly storageClass: StorageClass
  /** The `x-oss-tagging` string as received (URL-encoded `k=v&k2=v2`), or undefined. */
  readonly tagging: string | undefined
  /** True for an object written by a mirror fill (answers `x-oss-tag: MIRROR`). */
  readonly mirrored: boolean
  /** Last-Modified to show instead of the write time (MirrorUserLastModified); retention still counts from writtenAt. */
  readonly lastModifiedOverride?: Date | undefined
}

export interface ObjectRecord extends ObjectAttributes {
  readonly bucket: string
  readonly key: string
  readonly size: number
  /** Unquoted uppercase hex; multipart: `<32 hex>-<parts>`. */
  readonly etag: string
  /** Base64 of the content MD5; Normal objects only. */
  readonly contentMd5: string | undefined
  /** CRC-64/XZ of the whole content, unsigned decimal string. */
  readonly crc64: string
  /** Shown Last-Modified (the write time unless overridden), millisecond precision. */
  readonly lastModified: Date
  /** The real write time, from which retention counts. */
  readonly writtenAt: Date
  readonly type: ObjectType
  /** Opaque version of this row; changes on every write of the key (used to detect races). */
  readonly version: string
}

/**
 * A hashed body that no row refers to yet: either a file in the data dir, already fsynced, or (an
 * implementation's choice for small bodies) bytes in memory that the committing transaction
 * stores together with the row, so no fsync is needed.
 */
export interface StagedBlob {
  readonly size: number
  /** 16-byte MD5 digest of the bytes. */
  readonly md5: Buffer
  /** CRC-64/XZ of the bytes. */
  readonly crc64: bigint
  /** Frees the staged bytes (file or memory) if they were never committed; safe to call after a commit (no-op). */
  discard(): Promise<void>
}

/**
 * A blob being written piece by piece while readers follow it (mirror read-while-fill), in a temp
 * file or, for a small announced size, in memory. The owner writes chunks, releases bytes to
 * readers, then finishes (a file: fsync + rename; memory: nothing to sync) into a StagedBlob to
 * commit, or aborts (bytes dropped, every reader fails with the reason).
 */
export interface StagingBlob {
  /** Bytes written so far. */
  readonly size: number
  /**
   * Appends a chunk, or several in order as one gathered write; one call at a time. Throws
   * BodyTooLarge past maxSize. The chunks are handed over: the caller must not change them after
   * (tails may send them from memory).
   */
  write(chunk: Uint8Array | readonly Uint8Array[]): Promise<void>
  /** Readers may have bytes up to `bytes` (monotonic); `complete`: no byte will follow. */
  release(bytes: number, complete: boolean): void
  /** Bytes [start, end] (inclusive; to the end when undefined) as they are released; the caller destroys it when done. */
  tail(start: number, end?: number): Readable
  /** Hands the bytes over as a StagedBlob (a file is made durable first). Tails keep reading. */
  finish(): Promise<StagedBlob>
  /** Drops the bytes (removes the file) unless finished, and fails every tail with `reason`. Idempotent. */
  abort(reason: Error): Promise<void>
}

/** Bytes held in memory and shared by concurrent readers: never modify `bytes`; release() once sent. */
export interface SharedBody {
  readonly bytes: Buffer
  /** Gives the bytes back (idempotent); they may be evicted from then on. */
  release(): void
}

export interface StageOptions {
  /** Refuse (BodyTooLarge) as soon as more bytes than this arrive. */
  readonly maxSize: number
  readonly signal?: AbortSignal | undefined
}

/** Preconditions checked inside the committing transaction. */
export interface WriteCondition {
  /** x-oss-forbid-overwrite: an existing key fails with ObjectExists. */
  readonly forbidOverwrite?: boolean | undefined
  /** Mirror fills: the key must be absent (ObjectExists, or ObjectImmutable when the present object is protected). */
  readonly mustBeAbsent?: boolean | undefined
  /** Fail with ObjectChanged unless the key's current version is this (or absent when null). */
  readonly expectVersion?: string | null | undefined
}

export interface ByteRange {
  /** Inclusive first byte. */
  readonly start: number
  /** Inclusive last byte. */
  readonly end: number
}

export interface ListObjectsQuery {
  readonly prefix: string
  readonly delimiter: string
  /** Exclusive: entries (keys or common prefixes) must sort strictly after this (byte order). */
  readonly startAfter: string
  readonly maxKeys: number
}

export type ListEntry = { readonly kind: 'object'; readonly object: ObjectRecord } | { readonly kind: 'prefix'; readonly prefix: string }

export interface ListObjectsResult {
  /** Keys and common prefixes in byte order of their UTF-8 encoding. */
  readonly entries: readonly ListEntry[]
  readonly truncated: boolean
  /** The last key or prefix returned, when truncated. */
  readonly nextMarker: string | undefined
}

export interface ListBucketsQuery {
  readonly prefix: string
  readonly marker: string
  readonly maxKeys: number
}

export interface Upload {
  readonly bucket: string
  readonly key: string
  readonly uploadId: string
  readonly initiated: Date
  readonly attributes: ObjectAttributes
}

export interface Part {
  readonly partNumber: number
  readonly size: number
  /** Unquoted uppercase hex MD5 of the part. */
  readonly etag: string
  readonly crc64: string
  readonly lastModified: Date
}

export interface ListPartsQuery {
  readonly partNumberMarker: number
  readonly maxParts: number
}
export interface ListPartsResult {
  readonly parts: readonly Part[]
  readonly truncated: boolean
  readonly nextPartNumberMarker: number
}

export interface ListUploadsQuery {
  readonly prefix: string
  readonly delimiter: string
  readonly keyMarker: string
  readonly uploadIdMarker: string
  readonly maxUploads: number
}
export type UploadListEntry = { readonly kind: 'upload'; readonly upload: Upload } | { readonly kind: 'prefix'; readonly prefix: string }
export interface ListUploadsResult {
  readonly entries: readonly UploadListEntry[]
  readonly truncated: boolean
  readonly nextKeyMarker: string
  readonly nextUploadIdMarker: string
}

export interface CompletePart {
  readonly partNumber: number
  /** As the client sent it; surrounding quotes optional, hex case-insensitive. */
  readonly etag: string
}

export interface CompleteOptions {
  /** The parts to assemble, or 'all' (x-oss-complete-all: yes) for every uploaded part in order. */
  readonly parts: readonly CompletePart[] | 'all'
  /** Every part but the last must be at least this many bytes (EntityTooSmall). */
  readonly minPartSize: number
}

export interface ObjectStore {
  // ── buckets ──
  /** Throws BucketExists if the name is taken. */
  createBucket(input: NewBucket): Bucket
  findBucket(name: string): Bucket | undefined
  /** Sorted by name. */
  listBuckets(query: ListBucketsQuery): { buckets: Bucket[]; truncated: boolean }
  /** Throws BucketNotFound, BucketNotEmpty (objects or unfinished uploads). */
  deleteBucket(name: string): void
  /** Throws BucketNotFound. `null` clears a field. */
  updateBucket(name: string, patch: { acl?: BucketAcl; website?: string | null; worm?: WormPolicy | null }): Bucket

  // ── objects ──
  findObject(bucket: string, key: string): ObjectRecord | undefined
  /**
   * A stream of the object's bytes (the whole object or one inclusive range). The caller consumes or
   * destroys it. Reading stays correct if the key is overwritten or deleted meanwhile: the stream
   * delivers the bytes of the version it was opened on. Throws ObjectChanged (synchronously) when
   * `object` is no longer current and its bytes are already gone: find the key again and retry.
   */
  openObject(object: ObjectRecord, range?: ByteRange): Readable
  /**
   * The bytes of an object (or inclusive range) in one buffer, for small reads only: the caller
   * keeps the size small (a few KiB). Same contract as openObject: ObjectChanged if this version is
   * gone, and correct bytes if it is replaced meanwhile.
   */
  readObject(object: ObjectRecord, range?: ByteRange): Promise<Buffer>
  /**
   * Optional: the bytes of an object (or inclusive range) from memory shared by every reader of the
   * same bytes, loaded by one read for concurrent first readers; undefined when the store will not
   * hold them (too large, not admitted): the caller streams with openObject instead. Same contract
   * as openObject: the bytes of the version given, ObjectChanged (rejected) if they are gone. The
   * caller releases the SharedBody once its response no longer needs the bytes.
   */
  openShared?(object: ObjectRecord, range?: ByteRange): Promise<SharedBody | undefined>
  /**
   * Stages a body, hashing on the way: a small one may stay in memory (never more than a small
   * bound of bytes), a larger one goes to a temp file in the data dir, fsynced. Throws BodyTooLarge.
   */
  stageBlob(body: Readable, options: StageOptions): Promise<StagedBlob>
  /**
   * Starts a StagingBlob; `expectedSize` (if known) lets the store choose where to keep the bytes
   * (memory for a small body) and how to hash. Bytes written past `expectedSize` may be counted
   * without being kept: such a body cannot finish.
   */
  openStaging(options: { readonly maxSize: number; readonly expectedSize?: number | undefined }): Promise<StagingBlob>
  /**
   * Commits a staged blob as bucket/key, replacing any current object (whose bytes are freed).
   * Throws BucketNotFound, ObjectExists, ObjectImmutable (retention), ObjectChanged; on a throw the
   * blob stays staged and the caller discards it.
   */
  putObject(bucket: string, key: string, blob: StagedBlob, attributes: ObjectAttributes, condition?: WriteCondition): ObjectRecord
  /**
   * Makes dst an object with source's bytes (shared, not copied) and the given attributes.
   * `source.version` must still be current (else ObjectChanged). Same throws as putObject.
   */
  copyObject(source: ObjectRecord, bucket: string, key: string, attributes: ObjectAttributes, condition?: WriteCondition): ObjectRecord
  /**
   * Optional, before copyObject: a copy's ETag is the content MD5, which a Multipart or Appendable
   * source does not carry. This computes it asynchronously (streaming the bytes) and caches it, so
   * copyObject need not read the source synchronously. Harmless for Normal sources.
   */
  prepareCopy?(source: ObjectRecord): Promise<void>
  /**
   * AppendObject. `position` must equal the current size (0 creates). Throws PositionMismatch
   * (carrying the current size), NotAppendable, ObjectImmutable, BodyTooLarge (total over maxSize).
   * `attributes` apply only when the append creates the object.
   */
  appendObject(bucket: string, key: string, position: number, blob: StagedBlob, attributes: ObjectAttributes, maxSize: number): ObjectRecord
  /** Returns whether an object was removed. Throws ObjectImmutable. */
  deleteObject(bucket: string, key: string): boolean
  /** All or nothing: throws ObjectImmutable (naming the key) and deletes nothing if any key is protected. */
  deleteObjects(bucket: string, keys: readonly string[]): void
  /** Throws ObjectNotFound. */
  setObjectAcl(bucket: string, key: string, acl: ObjectAcl): ObjectRecord
  listObjects(bucket: string, query: ListObjectsQuery): ListObjectsResult
  /** True when the bucket holds at least one object. */
  hasObjects(bucket: string): boolean

  // ── multipart ──
  createUpload(bucket: string, key: string, attributes: ObjectAttributes): Upload
  /** An upload id is valid only with its own bucket and key. */
  findUpload(bucket: string, key: string, uploadId: string): Upload | undefined
  /** Replaces any part with the same number. Throws UploadNotFound if the upload ended meanwhile. */
  putPart(upload: Upload, partNumber: number, blob: StagedBlob): Part
  /** A part built from a range of an existing object (UploadPartCopy); bytes are copied through a staged blob by the caller. */
  listParts(upload: Upload, query: ListPartsQuery): ListPartsResult
  listUploads(bucket: string, query: ListUploadsQuery): ListUploadsResult
  /**
   * Assembles the listed parts into the object (no byte copy), ends the upload and frees unlisted
   * parts. Throws InvalidPart, InvalidPartOrder, PartTooSmall, UploadNotFound, ObjectExists,
   * ObjectImmutable. On a throw the upload is unchanged.
   */
  completeUpload(upload: Upload, options: CompleteOptions, condition?: WriteCondition): ObjectRecord
  /** Throws UploadNotFound. */
  abortUpload(upload: Upload): void

  // ── lifecycle ──
  /** Removes every file in the data dir that no committed row references (bytes kept in the database are not files). Run once at start-up. */
  sweep(): Promise<{ removedFiles: number; removedBytes: number }>
  close(): void
}
