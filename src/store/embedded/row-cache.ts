/**
 * Bucket and object records read recently, so a hot GET need not run two SQLite lookups. In WAL
 * mode every statement starts a read transaction (shared-memory locks, a stat of the file) and
 * builds a row object: about 10 µs a lookup here, a fifth of a small hit's CPU.
 *
 * Validity: `PRAGMA data_version` changes whenever another connection (another worker process, or
 * another store on the same file) has committed since this connection last asked; commits on this
 * connection do not change it, so the store clears the cache after each of its own writes. The
 * cache is checked once per lookup and emptied as a whole on any change: it helps read-mostly
 * traffic and costs one pragma when writes are frequent. An entry is never older than the
 * data_version it was stored under, so a reader sees every commit that finished before its lookup.
 *
 * Entries are frozen: callers share them. An object record may carry its body when that is a small
 * inline blob (immutable bytes, so never stale for that record); those bytes are capped in total.
 */

/** Most entries kept per kind; past it the oldest entry goes (Map keeps insertion order). */
const MAX_ENTRIES = 4096
/** Most bytes of small bodies (inline blobs carried by records) kept, oldest out first. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024

export class RowCache<B, O> {
  private version: number | undefined = undefined
  private readonly buckets = new Map<string, B>()
  private readonly objects = new Map<string, { readonly value: O; readonly bytes: number }>()
  private bodyBytes = 0

  /** Body bytes the cached records keep alive. */
  get heldBodyBytes(): number {
    return this.bodyBytes
  }

  /** Empties the cache unless `version` (the current data_version) is the one its entries were read at. */
  validate(version: number): void {
    if (version !== this.version) {
      this.version = version
      this.clear()
    }
  }

  clear(): void {
    this.buckets.clear()
    this.objects.clear()
    this.bodyBytes = 0
  }

  bucket(name: string): B | undefined {
    return this.buckets.get(name)
  }

  setBucket(name: string, value: B): void {
    put(this.buckets, name, value)
  }

  object(bucket: string, key: string): O | undefined {
    return this.objects.get(objectKey(bucket, key))?.value
  }

  /** `bytes`: how many body bytes the entry keeps alive (counted against MAX_BODY_BYTES). */
  setObject(bucket: string, key: string, value: O, bytes = 0): void {
    if (bytes > MAX_BODY_BYTES) return
    const k = objectKey(bucket, key)
    const old = this.objects.get(k)
    if (old !== undefined) {
      this.objects.delete(k)
      this.bodyBytes -= old.bytes
    }
    for (const [oldest, entry] of this.objects) {
      if (this.objects.size < MAX_ENTRIES && this.bodyBytes + bytes <= MAX_BODY_BYTES) break
      this.objects.delete(oldest)
      this.bodyBytes -= entry.bytes
    }
    this.objects.set(k, { value, bytes })
    this.bodyBytes += bytes
  }
}

/** Bucket names cannot contain '/', so "<bucket>/<key>" is unambiguous. */
function objectKey(bucket: string, key: string): string {
  return `${bucket}/${key}`
}

function put<V>(map: Map<string, V>, k: string, v: V): void {
  if (map.size >= MAX_ENTRIES && !map.has(k)) {
    const oldest = map.keys().next()
    if (oldest.done !== true) map.delete(oldest.value)
  }
  map.set(k, v)
}
