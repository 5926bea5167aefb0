/**
 * Reusable buffers for large file reads. A fresh 512 KiB buffer per read is external memory to V8:
 * at a gigabyte a second that churn triggers a full mark-compact every few hundred megabytes, and
 * `perf` put V8's marking and sweeping at about a third of the server's CPU while serving a 64 MiB
 * object. A reader takes a buffer here; whoever finished with its bytes (the HTTP sender, once the
 * socket's write callback says the kernel has them) gives it back. A buffer that is never given back
 * is simply garbage collected: giving back is an optimisation, never a requirement.
 */

/** The size of every pooled buffer. */
export const POOL_CHUNK = 512 * 1024
/** Free buffers kept per process (4 MiB); more given back are left to the garbage collector. */
const MAX_FREE = 8
/** Free buffers not taken for this long are dropped: memory is not held for traffic that has gone. */
const IDLE_MS = 1000

const free: Buffer[] = []
let takenSinceCheck = false
let idleTimer: NodeJS.Timeout | undefined

function checkIdle(): void {
  idleTimer = undefined
  if (takenSinceCheck) {
    takenSinceCheck = false
    armIdle()
  } else {
    for (const buf of free) isFree.delete(buf.buffer)
    free.length = 0
  }
}

function armIdle(): void {
  if (idleTimer !== undefined || free.length === 0) return
  idleTimer = setTimeout(checkIdle, IDLE_MS)
  idleTimer.unref()
}
/** The whole buffer of every pooled ArrayBuffer (chunks handed out may be views of part of it). */
const owners = new WeakMap<ArrayBufferLike, Buffer>()
/** ArrayBuffers currently in `free`: giving one back twice must not hand it out twice. */
const isFree = new WeakSet<ArrayBufferLike>()

/** A POOL_CHUNK-byte buffer with its own memory, free for the caller to fill. */
export function takeChunk(): Buffer {
  takenSinceCheck = true
  const buf = free.pop()
  if (buf !== undefined) {
    isFree.delete(buf.buffer)
    return buf
  }
  const fresh = Buffer.allocUnsafeSlow(POOL_CHUNK)
  owners.set(fresh.buffer, fresh)
  return fresh
}

/** True when `chunk` views a pooled buffer (giveBack would keep it). */
export function isPooled(chunk: Buffer): boolean {
  return owners.has(chunk.buffer)
}

/** The caller, and everyone it handed `chunk` to, are done with its bytes: the buffer may be reused. */
export function giveBack(chunk: Buffer): void {
  const whole = owners.get(chunk.buffer)
  if (whole === undefined || isFree.has(chunk.buffer) || free.length >= MAX_FREE) return
  isFree.add(chunk.buffer)
  free.push(whole)
  armIdle()
}
