/**
 * MD5 + CRC-64 of a body, computed either inline or on a worker thread. A large mirror fill hashes
 * hundreds of MB; on the thread, hashing overlaps with the event loop's network and disk work.
 * The threaded hasher copies chunks into a few reusable SharedArrayBuffer slots (no allocation per
 * chunk, so no garbage piling up in the thread) and applies backpressure: `drained()` waits until
 * every queued byte has been copied into a slot.
 */
import { createHash } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import { Crc64 } from './crc64.js'
import type { HashReply, HashRequest } from './hash-worker.js'

export interface BodyHasher {
  update(chunk: Uint8Array): void
  /** Resolves when the hasher can take more (always at once inline). */
  drained(): Promise<void>
  digest(): Promise<{ md5: Buffer; crc64: bigint }>
  /** Forgets the state (abandoned body). */
  dispose(): void
}

export function inlineHasher(): BodyHasher {
  const md5 = createHash('md5')
  const crc = new Crc64()
  return {
    update(chunk) {
      md5.update(chunk)
      crc.update(chunk)
    },
    drained: () => Promise.resolve(),
    digest: () => Promise.resolve({ md5: md5.digest(), crc64: crc.digest() }),
    dispose() {
      // nothing held
    },
  }
}

/** Shared slots: at most SLOTS × SLOT_SIZE bytes wait for the thread, with no allocation per chunk. */
const SLOT_SIZE = 1024 * 1024
const SLOTS = 8

interface Pending {
  /** Chunk pieces not yet copied into a slot, in order. */
  readonly queue: Uint8Array[]
  /** Slots of this body still being hashed. */
  inFlight: number
  wakers: Array<() => void>
  done: ((r: { md5: Buffer; crc64: bigint }) => void) | undefined
  fail: ((err: Error) => void) | undefined
  /** digest() asked while pieces were still queued. */
  digestWanted: boolean
}

let worker: Worker | undefined
let slots: Uint8Array = new Uint8Array(0)
const freeSlots: number[] = []
let nextId = 0
const bodies = new Map<number, Pending>()
/** Bodies with queued pieces, served round robin as slots free up. */
const waiting: number[] = []

/** The thread holds the process open only while some body is being hashed. */
function track(id: number, state: Pending): void {
  if (bodies.size === 0) worker?.ref()
  bodies.set(id, state)
}

function untrack(id: number): boolean {
  const had = bodies.delete(id)
  if (had && bodies.size === 0) worker?.unref()
  return had
}

function wake(p: Pending): void {
  const list = p.wakers
  p.wakers = []
  for (const fn of list) fn()
}

/**
 * Copies queued pieces into free slots and hands them to the thread, in each body's order. A slot
 * is filled with as many consecutive pieces of one body as fit (origin chunks are often 64 KiB),
 * so there is one message per full slot, not per chunk.
 */
function pump(): void {
  const w = worker
  if (w === undefined) return
  while (freeSlots.length > 0 && waiting.length > 0) {
    const id = waiting[0] as number
    const p = bodies.get(id)
    if (p === undefined || p.queue.length === 0) {
      waiting.shift()
      continue
    }
    const slot = freeSlots.pop() as number
    let filled = 0
    for (let piece = p.queue[0]; piece !== undefined && filled < SLOT_SIZE; piece = p.queue[0]) {
      const n = Math.min(piece.length, SLOT_SIZE - filled)
      slots.set(n === piece.length ? piece : piece.subarray(0, n), slot * SLOT_SIZE + filled)
      filled += n
      if (n === piece.length) p.queue.shift()
      else p.queue[0] = piece.subarray(n)
    }
    if (p.queue.length === 0) waiting.shift()
    p.inFlight++
    w.postMessage({ op: 'update', id, slot, length: filled } satisfies HashRequest)
    if (p.queue.length === 0) {
      wake(p)
      if (p.digestWanted) w.postMessage({ op: 'digest', id } satisfies HashRequest)
    }
  }
}

function hashWorker(): Worker {
  if (worker !== undefined) return worker
  const shared = new SharedArrayBuffer(SLOT_SIZE * SLOTS)
  slots = new Uint8Array(shared)
  freeSlots.length = 0
  for (let i = 0; i < SLOTS; i++) freeSlots.push(i)
  const w = new Worker(new URL('./hash-worker.js', import.meta.url))
  w.postMessage({ op: 'init', shared, slotSize: SLOT_SIZE } satisfies HashRequest)
  w.on('message', (m: HashReply) => {
    if (m.op === 'ack') {
      freeSlots.push(m.slot)
      const p = bodies.get(m.id)
      if (p !== undefined) p.inFlight--
      pump()
      return
    }
    const p = bodies.get(m.id)
    untrack(m.id)
    p?.done?.({ md5: Buffer.from(m.md5), crc64: BigInt(m.crc64) })
  })
  const failAll = (err: Error): void => {
    worker = undefined
    waiting.length = 0
    for (const [id, p] of bodies) {
      bodies.delete(id)
      p.fail?.(err)
      wake(p)
    }
  }
  w.on('error', failAll)
  w.on('exit', () => failAll(new Error('Hash worker exited')))
  // Idle until a body is tracked (adding the listeners above referenced it).
  w.unref()
  worker = w
  return w
}

/**
 * Starts the hash thread now, off any request's path, so the first large fill does not wait for a
 * thread to boot. The one thread then serves every body of the process (and is restarted only if
 * it dies); idle, it does not hold the process open.
 */
export function startHashThread(): void {
  hashWorker()
}

/** The hash thread's id, or undefined before it starts or after it died (for tests and logs). */
export function hashThreadId(): number | undefined {
  return worker?.threadId
}

export function threadedHasher(): BodyHasher {
  hashWorker()
  const id = ++nextId
  const state: Pending = { queue: [], inFlight: 0, wakers: [], done: undefined, fail: undefined, digestWanted: false }
  track(id, state)
  return {
    update(chunk) {
      // The caller may reuse its buffer after drained(): queued pieces are copied into slots by then.
      for (let off = 0; off < chunk.length; off += SLOT_SIZE) state.queue.push(chunk.subarray(off, off + SLOT_SIZE))
      if (state.queue.length > 0 && !waiting.includes(id)) waiting.push(id)
      pump()
    },
    drained() {
      if (state.queue.length === 0 || !bodies.has(id)) return Promise.resolve()
      return new Promise((resolve) => state.wakers.push(resolve))
    },
    digest() {
      return new Promise((resolve, reject) => {
        if (!bodies.has(id) || worker === undefined) {
          reject(new Error('Hash worker failed'))
          return
        }
        state.done = resolve
        state.fail = reject
        if (state.queue.length === 0) worker.postMessage({ op: 'digest', id } satisfies HashRequest)
        else state.digestWanted = true
      })
    },
    dispose() {
      const i = waiting.indexOf(id)
      if (i !== -1) waiting.splice(i, 1)
      state.queue.length = 0
      wake(state)
      if (untrack(id)) worker?.postMessage({ op: 'drop', id } satisfies HashRequest)
    },
  }
}
