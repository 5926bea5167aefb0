/**
 * MD5 + CRC-64 of a body, computed either inline or on a worker thread. A large mirror fill hashes
 * hundreds of MB; on the thread, hashing overlaps with the event loop's network and disk work.
 * The threaded hasher copies each chunk to the thread and applies backpressure: `drained()` waits
 * while more than MAX_IN_FLIGHT bytes are still unhashed.
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

const MAX_IN_FLIGHT = 8 * 1024 * 1024

interface Pending {
  inFlight: number
  wake: (() => void) | undefined
  done: ((r: { md5: Buffer; crc64: bigint }) => void) | undefined
  fail: ((err: Error) => void) | undefined
}

let worker: Worker | undefined
let nextId = 0
const bodies = new Map<number, Pending>()

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

function hashWorker(): Worker {
  if (worker !== undefined) return worker
  const w = new Worker(new URL('./hash-worker.js', import.meta.url))
  w.on('message', (m: HashReply) => {
    const p = bodies.get(m.id)
    if (p === undefined) return
    if (m.op === 'ack') {
      p.inFlight -= m.bytes
      if (p.inFlight <= MAX_IN_FLIGHT && p.wake !== undefined) {
        const wake = p.wake
        p.wake = undefined
        wake()
      }
    } else {
      untrack(m.id)
      p.done?.({ md5: Buffer.from(m.md5), crc64: BigInt(m.crc64) })
    }
  })
  const failAll = (err: Error): void => {
    worker = undefined
    for (const [id, p] of bodies) {
      bodies.delete(id)
      p.fail?.(err)
      p.wake?.()
    }
  }
  w.on('error', failAll)
  w.on('exit', () => failAll(new Error('Hash worker exited')))
  // Idle until a body is tracked (adding the listeners above referenced it).
  w.unref()
  worker = w
  return w
}

export function threadedHasher(): BodyHasher {
  const w = hashWorker()
  const id = ++nextId
  const state: Pending = { inFlight: 0, wake: undefined, done: undefined, fail: undefined }
  track(id, state)
  const send = (m: HashRequest, transfer?: ArrayBuffer[]): void => w.postMessage(m, transfer)
  return {
    update(chunk) {
      const copy = new Uint8Array(chunk)
      state.inFlight += copy.length
      send({ op: 'update', id, data: copy.buffer }, [copy.buffer])
    },
    drained() {
      if (state.inFlight <= MAX_IN_FLIGHT || !bodies.has(id)) return Promise.resolve()
      return new Promise((resolve) => {
        state.wake = resolve
      })
    },
    digest() {
      return new Promise((resolve, reject) => {
        if (!bodies.has(id)) {
          reject(new Error('Hash worker failed'))
          return
        }
        state.done = resolve
        state.fail = reject
        send({ op: 'digest', id })
      })
    },
    dispose() {
      if (untrack(id)) send({ op: 'drop', id })
    },
  }
}
