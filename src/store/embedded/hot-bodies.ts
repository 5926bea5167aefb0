/**
 * Hot bodies: whole small blob files held in memory, one Buffer per blob shared by every reader
 * (the same Buffer, or a subarray for a range, goes to every response: no per-reader copy and no
 * per-reader read). Keyed by blob id: blob files are immutable and ids random and never reused, so
 * an entry can never be stale; an entry is still dropped when this process frees its blob, and a
 * periodic prune drops those whose file another process unlinked.
 *
 * Memory is bounded by `maxBytes`, counting entries being loaded and entries dropped or evicted
 * while a response still holds them (a lease): an entry with a lease is never evicted, and a blob
 * that does not fit beside the leased ones is not admitted (the caller streams it instead). So the
 * bytes this module keeps alive never exceed `maxBytes`, however many responses share them.
 *
 * Loading is single flight: the first reader of a blob starts one read, later ones wait for it.
 * Admission: while there is free room, any blob is admitted on its first read; once admitting means
 * evicting, only a blob read before within `admitWindowMs` is (a doorkeeper: a scan of one-off
 * reads cannot push out the hot entries, it only fills free room).
 */
import fs from 'node:fs'

/** Blobs up to this size may be held whole (a 1 MiB object is 32 reads of 32 KiB when streamed). */
export const HOT_BODY_MAX = 1024 * 1024
/**
 * Bytes held per process. Under --workers each worker has its own cache: 2 workers × 32 MiB is at
 * most 64 MiB of bodies, kept small because the whole server's memory counts (the 1,000-connection
 * target is 400 MB summed over primary and workers, and a cache filled by earlier traffic stays
 * filled). A response served from the cache holds no buffer of its own (a streamed one holds about
 * 64 KiB), so under many connections the cache saves more than it costs even when full.
 */
export const HOT_BYTES_MAX = 32 * 1024 * 1024

/** How a read went: served from memory, waited for a load in flight, did the load, or not admitted. */
export type HotOutcome = 'hit' | 'joined' | 'loaded' | 'bypassed'

export interface HotBodiesOptions {
  readonly maxBody?: number
  readonly maxBytes?: number
  /** A second read within this window admits a blob even when that evicts others. */
  readonly admitWindowMs?: number
  /** Called once per acquire() with how it went (metrics). */
  readonly onRead?: ((outcome: HotOutcome) => void) | undefined
  readonly pruneMs?: number
}

/** A blob's bytes lent to one reader; release() once nothing uses `bytes` any more. */
export interface HotLease {
  readonly bytes: Buffer
  release(): void
}

interface Entry {
  readonly id: string
  readonly size: number
  bytes: Buffer | undefined
  loading: Promise<Buffer> | undefined
  refs: number
  /** Whether `size` is in the held total (from the start of its load until it is gone and unleased). */
  counted: boolean
  /** Out of the map (freed, evicted while leased, or failed): its bytes go when the last lease does. */
  dead: boolean
}

/** Remembered first reads (the doorkeeper), at most this many. */
const SEEN_MAX = 8192
/** Entries whose file is checked per prune (least recently used first: freed blobs are never read again). */
const PRUNE_BATCH = 256

export class HotBodies {
  readonly maxBody: number
  readonly maxBytes: number
  private readonly admitWindowMs: number
  private readonly onRead: ((outcome: HotOutcome) => void) | undefined
  private readonly pathOf: (id: string) => string
  /** Entries in LRU order (least recent first). */
  private readonly entries = new Map<string, Entry>()
  /** blob id → time of a read that was not admitted (or admitted into free room). */
  private readonly seen = new Map<string, number>()
  private held = 0
  private readonly timer: NodeJS.Timeout

  constructor(pathOf: (id: string) => string, options: HotBodiesOptions = {}) {
    this.pathOf = pathOf
    this.maxBody = options.maxBody ?? HOT_BODY_MAX
    this.maxBytes = options.maxBytes ?? HOT_BYTES_MAX
    this.admitWindowMs = options.admitWindowMs ?? 60_000
    this.onRead = options.onRead
    this.timer = setInterval(() => this.prune(), options.pruneMs ?? 5000)
    this.timer.unref()
  }

  /** Bytes kept alive by this cache: entries, loads in flight, and dropped entries still leased. */
  get heldBytes(): number {
    return this.held
  }

  /** Entries in the cache (loaded or loading). */
  get size(): number {
    return this.entries.size
  }

  has(id: string): boolean {
    return this.entries.get(id)?.bytes !== undefined
  }

  /**
   * A lease on the whole of blob `id` (`size` bytes), or undefined when it is not admitted: read it
   * some other way. `load` reads the file; it is called synchronously, at most once per blob in
   * flight, and whatever it throws synchronously (ENOENT: the file is gone) is thrown from here.
   */
  acquire(id: string, size: number, load: () => Promise<Buffer>): Promise<HotLease> | undefined {
    const hit = this.entries.get(id)
    if (hit !== undefined) {
      hit.refs++
      this.entries.delete(id)
      this.entries.set(id, hit)
      if (hit.bytes !== undefined) {
        this.onRead?.('hit')
        return Promise.resolve(this.lease(hit, hit.bytes))
      }
      this.onRead?.('joined')
      return (hit.loading as Promise<Buffer>).then((bytes) => this.lease(hit, bytes))
    }
    if (!this.admit(id, size)) {
      this.onRead?.('bypassed')
      return undefined
    }
    // Throws synchronously (nothing reserved yet) when the file is already gone.
    const loading = load()
    const entry: Entry = { id, size, bytes: undefined, loading, refs: 1, counted: true, dead: false }
    this.entries.set(id, entry)
    this.held += size
    this.onRead?.('loaded')
    return loading.then(
      (bytes) => {
        entry.loading = undefined
        if (bytes.length !== size) throw new Error(`Blob "${id}" has ${String(bytes.length)} bytes, not ${String(size)}`)
        if (!entry.dead) entry.bytes = bytes
        return this.lease(entry, bytes)
      },
      (err: unknown) => {
        // Every reader waiting on this load gets the error; the next reader tries afresh.
        entry.loading = undefined
        if (this.entries.get(id) === entry) this.entries.delete(id)
        entry.dead = true
        this.uncount(entry)
        throw err
      },
    )
  }

  /** This process freed the blob: forget it (leased bytes go when their readers are done). */
  drop(id: string): void {
    const e = this.entries.get(id)
    this.seen.delete(id)
    if (e === undefined) return
    this.entries.delete(id)
    this.kill(e)
  }

  close(): void {
    clearInterval(this.timer)
    for (const id of [...this.entries.keys()]) this.drop(id)
    this.seen.clear()
  }

  private lease(entry: Entry, bytes: Buffer): HotLease {
    let released = false
    return {
      bytes,
      release: () => {
        if (released) return
        released = true
        entry.refs--
        if (entry.dead && entry.refs === 0) this.uncount(entry)
      },
    }
  }

  /** Marks an entry that left the map dead; its bytes are uncounted once no lease holds them. */
  private kill(e: Entry): void {
    if (e.dead) return
    e.dead = true
    e.bytes = undefined
    if (e.refs === 0) this.uncount(e)
  }

  private uncount(e: Entry): void {
    if (!e.counted) return
    e.counted = false
    this.held -= e.size
  }

  /** Whether blob `id` of `size` bytes may be loaded now; evicts what admitting it needs. */
  private admit(id: string, size: number): boolean {
    if (size > this.maxBody || size > this.maxBytes) return false
    const now = Date.now()
    if (this.held + size <= this.maxBytes) {
      this.seen.set(id, now)
      this.trimSeen()
      return true
    }
    const last = this.seen.get(id)
    if (last === undefined || now - last > this.admitWindowMs) {
      this.seen.delete(id)
      this.seen.set(id, now)
      this.trimSeen()
      return false
    }
    // Evict least recently used entries no response holds until the blob fits.
    let free = this.maxBytes - this.held
    const victims: Entry[] = []
    for (const e of this.entries.values()) {
      if (free >= size) break
      if (e.refs > 0 || e.bytes === undefined) continue
      victims.push(e)
      free += e.size
    }
    if (free < size) return false
    for (const e of victims) {
      this.entries.delete(e.id)
      this.kill(e)
    }
    return true
  }

  private trimSeen(): void {
    for (const id of this.seen.keys()) {
      if (this.seen.size <= SEEN_MAX) break
      this.seen.delete(id)
    }
  }

  /** Drops entries whose file another process unlinked (their blob was freed there). */
  private prune(): void {
    let n = 0
    for (const e of this.entries.values()) {
      if (n++ >= PRUNE_BATCH) break
      if (e.bytes === undefined) continue
      fs.stat(this.pathOf(e.id), (err) => {
        if (err?.code === 'ENOENT' && this.entries.get(e.id) === e) this.drop(e.id)
      })
    }
  }
}
