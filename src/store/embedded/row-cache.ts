/**
 * Bucket and object records read recently, so a hot GET need not run two SQLite lookups. In WAL
 * mode every statement starts a read transaction (shared-memory locks, a stat of the file) and
 * builds a row object: about 10 µs a lookup here, a fifth of a small hit's CPU.
 *
 * Validity: the change epoch (./epoch.ts) changes whenever any store process (another worker, or
 * another store of this process) has committed since this cache last read it, and this store's own
 * writes change it too; the cache is emptied as a whole on any change. It is read once per
 * synchronous run (a 6-byte pread): the cache helps read-mostly traffic and costs little when
 * writes are frequent. An entry is never older than the epoch it was stored under, so a reader sees
 * every commit that finished before its lookup.
 *
 * Entries are frozen: callers share them. An object record may carry its body when that is a small
 * inline blob (immutable bytes, so never stale for that record); those bytes are capped in total.
 */

/** Most entries kept per kind; past it the oldest entry goes (Map keeps insertion order). */
const MAX_ENTRIES = 4096
/**
 * When the cache is full, one new entry in this many is admitted (evicting the oldest); the others
 * are not kept. Traffic cycling over a few more keys than fit would otherwise evict, every time,
 * the very entry asked for next and never hit; this way most of the resident entries stay, and a
 * working set that moves still replaces them over time.
 */
const ADMIT_ONE_IN = 8
/** Most bytes of small bodies (inline blobs carried by records) kept, oldest out first. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024

/** Write transactions committed by every cache's connection in this process (tests open several stores). */
let localCommits = 0

interface Entry<V> {
  readonly value: V
  /** Body bytes the entry keeps alive. */
  readonly bytes: number
}

export class RowCache<B, O> {
  private version: number | undefined = undefined
  private readonly buckets = new Map<string, Entry<B>>()
  private readonly objects = new Map<string, Entry<O>>()
  private bodyBytes = 0
  /** New entries refused while full, since the last one admitted. */
  private refused = 0
  /** validate() read the epoch during the current synchronous run, at this many local commits. */
  private checkedAt: number | undefined = undefined
  private readonly endCheck = (): void => {
    this.checkedAt = undefined
  }

  /** Body bytes the cached records keep alive. */
  get heldBodyBytes(): number {
    return this.bodyBytes
  }

  /**
   * Empties the cache unless the change epoch (`readVersion`) is the one its entries were read at.
   * It is read once per run of synchronous code (until the microtask queue drains): nothing outside
   * this process can observe a moment inside that run, so a commit elsewhere meanwhile is
   * concurrent with every lookup in it, and the next I/O callback reads again. A commit by another
   * store of this process is seen at once.
   */
  validate(readVersion: () => number): void {
    if (this.checkedAt === localCommits) return
    if (this.checkedAt === undefined) queueMicrotask(this.endCheck)
    this.checkedAt = localCommits
    const version = readVersion()
    if (version !== this.version) {
      this.version = version
      this.clear()
    }
  }

  /**
   * This store committed. Its own bump of the change epoch will empty the cache at the next check
   * (it cannot tell its own bump from another process's that came just before); `localCommits`
   * makes every store of this process check again.
   */
  committed(): void {
    this.clear()
    localCommits++
  }

  private forget<V>(map: Map<string, Entry<V>>, k: string): void {
    const old = map.get(k)
    if (old === undefined) return
    map.delete(k)
    this.bodyBytes -= old.bytes
  }

  private clear(): void {
    this.buckets.clear()
    this.objects.clear()
    this.bodyBytes = 0
  }

  bucket(name: string): B | undefined {
    return this.buckets.get(name)?.value
  }

  setBucket(name: string, value: B): void {
    this.store(this.buckets, name, value, 0)
  }

  object(bucket: string, key: string): O | undefined {
    return this.objects.get(objectKey(bucket, key))?.value
  }

  /** `bytes`: how many body bytes the entry keeps alive (counted against MAX_BODY_BYTES). */
  setObject(bucket: string, key: string, value: O, bytes = 0): void {
    this.store(this.objects, objectKey(bucket, key), value, bytes)
  }

  private store<V>(map: Map<string, Entry<V>>, k: string, value: V, bytes: number): void {
    if (bytes > MAX_BODY_BYTES) return
    const replacing = map.has(k)
    this.forget(map, k)
    if (!replacing && (map.size >= MAX_ENTRIES || this.bodyBytes + bytes > MAX_BODY_BYTES)) {
      if (++this.refused < ADMIT_ONE_IN) return
      this.refused = 0
    }
    for (const [oldest, entry] of map) {
      if (map.size < MAX_ENTRIES && this.bodyBytes + bytes <= MAX_BODY_BYTES) break
      map.delete(oldest)
      this.bodyBytes -= entry.bytes
    }
    map.set(k, { value, bytes })
    this.bodyBytes += bytes
  }
}

/** Bucket names cannot contain '/', so "<bucket>/<key>" is unambiguous. */
function objectKey(bucket: string, key: string): string {
  return `${bucket}/${key}`
}
