/**
 * Random bytes from the system CSPRNG, drawn in 4 KiB batches: one randomFillSync call serves
 * hundreds of ids (blob ids, row versions) instead of one call each on every write.
 */
import { randomFillSync } from 'node:crypto'

const POOL = Buffer.alloc(4096)
let used = POOL.length

/** `n` (at most 4096) fresh random bytes, as a view valid until the next call. */
function take(n: number): Buffer {
  if (used + n > POOL.length) {
    randomFillSync(POOL)
    used = 0
  }
  const out = POOL.subarray(used, used + n)
  used += n
  return out
}

/** `n` random bytes as lowercase hex. */
export function randomHex(n: number): string {
  return take(n).toString('hex')
}

/** `n` random bytes as base64url. */
export function randomBase64url(n: number): string {
  return take(n).toString('base64url')
}
