/**
 * The metadata database of the embedded store: one SQLite file (`meta.db`, WAL) holding buckets,
 * objects, their byte segments, uploads, parts and blob reference counts. Opening it applies the
 * schema migrations (`PRAGMA user_version`) and prepares every statement once.
 *
 * Several processes may open the same file: WAL lets readers run beside one writer, `busy_timeout`
 * waits for the write lock, and every write runs in `BEGIN IMMEDIATE` (see EmbeddedStore.write).
 */
import Database from 'better-sqlite3'
import type { Statement } from 'better-sqlite3'

/**
 * Schema, one entry per version. Design notes:
 * - Keys are TEXT compared with the BINARY collation, i.e. memcmp over UTF-8: byte order.
 * - An object's bytes are either one whole blob (`objects.blob`, Normal objects) or the rows of
 *   `segments` under its content id (`objects.cid`, Multipart and Appendable objects). A content id
 *   belongs to exactly one object row; appending adds a segment row under the same cid, so readers
 *   of an older (shorter) version still find their segments unchanged.
 * - `blobs.refs` counts every reference: `objects.blob`, `segments.blob`, `parts.blob`. A blob file
 *   is unlinked only after the transaction that drops its count to zero commits. A file under
 *   `blobs/` without a row here is an orphan (staged and never committed, or a crash before unlink).
 * - Times are integer milliseconds since the epoch; CRC-64 values unsigned decimal TEXT.
 * - Version 2, inline blobs: small bodies (see INLINE_MAX in ./blobs.ts) keep their bytes in
 *   `blob_bytes` instead of a file. It is a side table rather than a column of `blobs` because
 *   `blobs` is WITHOUT ROWID (its b-tree holds whole rows, interior cells too) and its rows are
 *   rewritten on every refcount change: 64 KiB in the row would be copied by each copy, append or
 *   complete. `blob_bytes` is written once with the `blobs` row that first refers to it (the same
 *   transaction as the object or part row) and deleted in the transaction that drops the count
 *   to zero. A blob is inline exactly when it has a `blob_bytes` row; it then has no file.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE buckets (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    acl TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    redundancy TEXT NOT NULL,
    website TEXT,
    worm_id TEXT,
    worm_state TEXT,
    worm_days INTEGER,
    worm_created_at INTEGER
  ) WITHOUT ROWID;

  CREATE TABLE objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    md5 TEXT,
    crc64 TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    written_at INTEGER NOT NULL,
    lm_override INTEGER,
    type TEXT NOT NULL,
    version TEXT NOT NULL,
    headers TEXT NOT NULL,
    user_meta TEXT NOT NULL,
    acl TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    tagging TEXT,
    mirrored INTEGER NOT NULL,
    blob TEXT,
    cid TEXT,
    PRIMARY KEY (bucket, key)
  );

  CREATE TABLE segments (
    cid TEXT NOT NULL,
    pos INTEGER NOT NULL,
    blob TEXT NOT NULL,
    off INTEGER NOT NULL,
    len INTEGER NOT NULL,
    PRIMARY KEY (cid, pos)
  ) WITHOUT ROWID;

  CREATE TABLE uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    initiated INTEGER NOT NULL,
    attributes TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id);

  CREATE TABLE parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    crc64 TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
  ) WITHOUT ROWID;

  CREATE TABLE blobs (
    id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    refs INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE blob_bytes (
    id TEXT PRIMARY KEY,
    data BLOB NOT NULL
  );
  `,
]

export interface BucketRow {
  name: string
  created_at: number
  acl: string
  storage_class: string
  redundancy: string
  website: string | null
  worm_id: string | null
  worm_state: string | null
  worm_days: number | null
  worm_created_at: number | null
}

export interface ObjectRow {
  bucket: string
  key: string
  size: number
  etag: string
  md5: string | null
  crc64: string
  last_modified: number
  written_at: number
  lm_override: number | null
  type: string
  version: string
  headers: string
  user_meta: string
  acl: string
  storage_class: string
  tagging: string | null
  mirrored: number
  blob: string | null
  cid: string | null
}

export interface SegmentRow {
  cid: string
  pos: number
  blob: string
  off: number
  len: number
}

export interface UploadRow {
  upload_id: string
  bucket: string
  key: string
  initiated: number
  attributes: string
}

export interface PartRow {
  upload_id: string
  part_number: number
  blob: string
  size: number
  etag: string
  crc64: string
  last_modified: number
}

const OBJECT_COLUMNS =
  'bucket, key, size, etag, md5, crc64, last_modified, written_at, lm_override, type, version, headers, user_meta, acl, storage_class, tagging, mirrored, blob, cid'
const OBJECT_PARAMS =
  '@bucket, @key, @size, @etag, @md5, @crc64, @last_modified, @written_at, @lm_override, @type, @version, @headers, @user_meta, @acl, @storage_class, @tagging, @mirrored, @blob, @cid'

/** Opens (creating and migrating) the database and holds its prepared statements. */
export class Meta {
  readonly db: Database.Database

  readonly bucketGet: Statement<[string], BucketRow>
  readonly bucketInsert: Statement<[BucketRow]>
  readonly bucketDelete: Statement<[string]>
  readonly bucketUpdate: Statement<[BucketRow]>
  readonly bucketsFrom: Statement<[string], BucketRow>

  readonly objectGet: Statement<[string, string], ObjectRow>
  /** objectGet plus the bytes of a single inline blob (`inline_data`, null for a file or segments). */
  readonly objectGetWithBytes: Statement<[string, string], ObjectRow & { inline_data: Buffer | null }>
  readonly objectUpsert: Statement<[ObjectRow]>
  readonly objectDelete: Statement<[string, string]>
  readonly objectSetAcl: Statement<[string, string, string]>
  readonly objectSetMd5: Statement<[string, string, string, string]>
  readonly objectAny: Statement<[string], { one: number }>
  /** Objects of a bucket with key > ?, in byte order. */
  readonly objectsAfter: Statement<[string, string], ObjectRow>
  /** Objects of a bucket with key >= ?, in byte order. */
  readonly objectsFrom: Statement<[string, string], ObjectRow>

  readonly segmentInsert: Statement<[SegmentRow]>
  readonly segmentsOf: Statement<[string], SegmentRow>
  /** Segments of cid overlapping the inclusive byte range [start, end] of the object. */
  readonly segmentsInRange: Statement<[{ cid: string; start: number; end: number }], SegmentRow & { inline: number }>
  readonly segmentsDelete: Statement<[string]>

  readonly uploadInsert: Statement<[UploadRow]>
  readonly uploadGet: Statement<[string], UploadRow>
  readonly uploadDelete: Statement<[string]>
  readonly uploadAny: Statement<[string], { one: number }>
  /** (bucket, key, uploadId): uploads with (key, upload_id) > (key, uploadId). */
  readonly uploadsAfterPair: Statement<[string, string, string], UploadRow>
  readonly uploadsAfter: Statement<[string, string], UploadRow>
  readonly uploadsFrom: Statement<[string, string], UploadRow>

  readonly partGet: Statement<[string, number], PartRow>
  readonly partUpsert: Statement<[PartRow]>
  readonly partsOf: Statement<[string], PartRow>
  readonly partsAfter: Statement<[string, number, number], PartRow>
  readonly partsDelete: Statement<[string]>

  readonly blobRef: Statement<[string, number]>
  readonly blobUnref: Statement<[string], { refs: number }>
  readonly blobForget: Statement<[string]>
  readonly blobExists: Statement<[string], { one: number }>

  readonly bytesInsert: Statement<[string, Buffer]>
  /** Bytes [off, off + len) of an inline blob (SQL substr is 1-based). */
  readonly bytesGet: Statement<[{ id: string; off: number; len: number }], { data: Buffer }>
  readonly bytesDelete: Statement<[string]>
  readonly bytesExist: Statement<[string], { one: number }>

  constructor(file: string) {
    const db = new Database(file)
    this.db = db
    db.pragma('journal_mode = WAL')
    // Only for opening and migrating; after that EmbeddedStore retries SQLITE_BUSY itself, without
    // SQLite's millisecond sleeps on the event loop.
    db.pragma('busy_timeout = 5000')
    // NORMAL (WAL): a commit does not fsync on the event loop. A committed write survives a process
    // crash (kill -9); on power loss the last commits may roll back, but the database stays
    // consistent and a row never outlives its bytes: every blob file is fsynced (off the event
    // loop) before the transaction that refers to it, and an inline blob's bytes are written in
    // that very transaction, so they commit or roll back with the row. The WAL is fsynced at each
    // checkpoint.
    db.pragma('synchronous = NORMAL')
    migrate(db)
    db.pragma('busy_timeout = 0')

    this.bucketGet = db.prepare('SELECT * FROM buckets WHERE name = ?')
    this.bucketInsert = db.prepare(
      `INSERT INTO buckets (name, created_at, acl, storage_class, redundancy, website, worm_id, worm_state, worm_days, worm_created_at)
       VALUES (@name, @created_at, @acl, @storage_class, @redundancy, @website, @worm_id, @worm_state, @worm_days, @worm_created_at)`,
    )
    this.bucketDelete = db.prepare('DELETE FROM buckets WHERE name = ?')
    this.bucketUpdate = db.prepare(
      `UPDATE buckets SET acl = @acl, website = @website, worm_id = @worm_id, worm_state = @worm_state,
       worm_days = @worm_days, worm_created_at = @worm_created_at WHERE name = @name`,
    )
    this.bucketsFrom = db.prepare('SELECT * FROM buckets WHERE name >= ? ORDER BY name')

    this.objectGet = db.prepare(`SELECT ${OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ?`)
    this.objectGetWithBytes = db.prepare(
      `SELECT ${OBJECT_COLUMNS.split(', ').map((c) => `o.${c}`).join(', ')}, bb.data AS inline_data
       FROM objects o LEFT JOIN blob_bytes bb ON bb.id = o.blob WHERE o.bucket = ? AND o.key = ?`,
    )
    this.objectUpsert = db.prepare(`INSERT OR REPLACE INTO objects (${OBJECT_COLUMNS}) VALUES (${OBJECT_PARAMS})`)
    this.objectDelete = db.prepare('DELETE FROM objects WHERE bucket = ? AND key = ?')
    this.objectSetAcl = db.prepare('UPDATE objects SET acl = ? WHERE bucket = ? AND key = ?')
    this.objectSetMd5 = db.prepare('UPDATE objects SET md5 = ? WHERE bucket = ? AND key = ? AND version = ?')
    this.objectAny = db.prepare('SELECT 1 AS one FROM objects WHERE bucket = ? LIMIT 1')
    this.objectsAfter = db.prepare(`SELECT ${OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key > ? ORDER BY key`)
    this.objectsFrom = db.prepare(`SELECT ${OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key >= ? ORDER BY key`)

    this.segmentInsert = db.prepare('INSERT INTO segments (cid, pos, blob, off, len) VALUES (@cid, @pos, @blob, @off, @len)')
    this.segmentsOf = db.prepare('SELECT * FROM segments WHERE cid = ? ORDER BY pos')
    // The inline flag comes from blob_bytes' index alone: no blob bytes are read here.
    this.segmentsInRange = db.prepare(
      `SELECT s.*, EXISTS (SELECT 1 FROM blob_bytes b WHERE b.id = s.blob) AS inline FROM segments s WHERE cid = @cid
         AND pos >= (SELECT max(pos) FROM segments WHERE cid = @cid AND pos <= @start)
         AND pos <= @end
       ORDER BY pos`,
    )
    this.segmentsDelete = db.prepare('DELETE FROM segments WHERE cid = ?')

    this.uploadInsert = db.prepare(
      'INSERT INTO uploads (upload_id, bucket, key, initiated, attributes) VALUES (@upload_id, @bucket, @key, @initiated, @attributes)',
    )
    this.uploadGet = db.prepare('SELECT * FROM uploads WHERE upload_id = ?')
    this.uploadDelete = db.prepare('DELETE FROM uploads WHERE upload_id = ?')
    this.uploadAny = db.prepare('SELECT 1 AS one FROM uploads WHERE bucket = ? LIMIT 1')
    this.uploadsAfterPair = db.prepare(
      'SELECT * FROM uploads WHERE bucket = ? AND (key, upload_id) > (?, ?) ORDER BY key, upload_id',
    )
    this.uploadsAfter = db.prepare('SELECT * FROM uploads WHERE bucket = ? AND key > ? ORDER BY key, upload_id')
    this.uploadsFrom = db.prepare('SELECT * FROM uploads WHERE bucket = ? AND key >= ? ORDER BY key, upload_id')

    this.partGet = db.prepare('SELECT * FROM parts WHERE upload_id = ? AND part_number = ?')
    this.partUpsert = db.prepare(
      `INSERT OR REPLACE INTO parts (upload_id, part_number, blob, size, etag, crc64, last_modified)
       VALUES (@upload_id, @part_number, @blob, @size, @etag, @crc64, @last_modified)`,
    )
    this.partsOf = db.prepare('SELECT * FROM parts WHERE upload_id = ? ORDER BY part_number')
    this.partsAfter = db.prepare('SELECT * FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?')
    this.partsDelete = db.prepare('DELETE FROM parts WHERE upload_id = ?')

    this.blobRef = db.prepare('INSERT INTO blobs (id, size, refs) VALUES (?, ?, 1) ON CONFLICT (id) DO UPDATE SET refs = refs + 1')
    this.blobUnref = db.prepare('UPDATE blobs SET refs = refs - 1 WHERE id = ? RETURNING refs')
    this.blobForget = db.prepare('DELETE FROM blobs WHERE id = ?')
    this.blobExists = db.prepare('SELECT 1 AS one FROM blobs WHERE id = ?')

    this.bytesInsert = db.prepare('INSERT INTO blob_bytes (id, data) VALUES (?, ?)')
    this.bytesGet = db.prepare('SELECT substr(data, @off + 1, @len) AS data FROM blob_bytes WHERE id = @id')
    this.bytesDelete = db.prepare('DELETE FROM blob_bytes WHERE id = ?')
    this.bytesExist = db.prepare('SELECT 1 AS one FROM blob_bytes WHERE id = ?')
  }

  close(): void {
    this.db.close()
  }
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > MIGRATIONS.length) throw new Error(`Database schema version ${current} is newer than this build (${MIGRATIONS.length})`)
  if (current === MIGRATIONS.length) return
  // IMMEDIATE: two processes opening a fresh data dir must not both migrate.
  db.transaction(() => {
    const again = db.pragma('user_version', { simple: true }) as number
    for (let v = again; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v] as string)
      db.pragma(`user_version = ${v + 1}`)
    }
  }).immediate()
}
