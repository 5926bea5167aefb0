/**
 * CRC-64/XZ (what OSS calls "ECMA-182" in x-oss-hash-crc64ecma): reflected poly 0xC96C5795D7870F42,
 * init and xorout all ones. Check: "123456789" → 0x995DC9BBDF1939FA.
 * The register is kept as two 32-bit halves so the hot loop stays in small integers.
 */

const POLY_HI = 0xc96c5795
const POLY_LO = 0xd7870f42

const T_HI = new Uint32Array(256)
const T_LO = new Uint32Array(256)
for (let n = 0; n < 256; n++) {
  let hi = 0
  let lo = n
  for (let k = 0; k < 8; k++) {
    const lsb = lo & 1
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0
    hi = hi >>> 1
    if (lsb !== 0) {
      hi = (hi ^ POLY_HI) >>> 0
      lo = (lo ^ POLY_LO) >>> 0
    }
  }
  T_HI[n] = hi
  T_LO[n] = lo
}

/** Incremental CRC-64/XZ. `new Crc64(previous)` continues a finished CRC (AppendObject). */
export class Crc64 {
  private hi: number
  private lo: number

  constructor(previous = 0n) {
    const reg = previous ^ 0xffffffffffffffffn
    this.hi = Number((reg >> 32n) & 0xffffffffn)
    this.lo = Number(reg & 0xffffffffn)
  }

  update(buf: Uint8Array): this {
    let hi = this.hi
    let lo = this.lo
    for (let i = 0; i < buf.length; i++) {
      const idx = (lo ^ (buf[i] as number)) & 0xff
      lo = ((lo >>> 8) | (hi << 24)) ^ (T_LO[idx] as number)
      hi = (hi >>> 8) ^ (T_HI[idx] as number)
    }
    this.hi = hi >>> 0
    this.lo = lo >>> 0
    return this
  }

  digest(): bigint {
    return ((BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0)) ^ 0xffffffffffffffffn
  }
}

export function crc64(buf: Uint8Array): bigint {
  return new Crc64().update(buf).digest()
}

// ── combine: crc(A‖B) from crc(A), crc(B) and len(B), zlib's GF(2) matrix method ──

const MASK = 0xffffffffffffffffn
const POLY = 0xc96c5795d7870f42n

function gf2Times(mat: bigint[], vec: bigint): bigint {
  let sum = 0n
  let i = 0
  while (vec !== 0n) {
    if ((vec & 1n) !== 0n) sum ^= mat[i] as bigint
    vec >>= 1n
    i++
  }
  return sum
}

function gf2Square(square: bigint[], mat: bigint[]): void {
  for (let n = 0; n < 64; n++) square[n] = gf2Times(mat, mat[n] as bigint)
}

export function crc64Combine(crc1: bigint, crc2: bigint, len2: number): bigint {
  if (len2 <= 0) return crc1
  const even: bigint[] = new Array<bigint>(64).fill(0n)
  const odd: bigint[] = new Array<bigint>(64).fill(0n)
  odd[0] = POLY
  let row = 1n
  for (let n = 1; n < 64; n++) {
    odd[n] = row
    row <<= 1n
  }
  gf2Square(even, odd)
  gf2Square(odd, even)
  let len = BigInt(len2)
  let c1 = crc1 & MASK
  for (;;) {
    gf2Square(even, odd)
    if ((len & 1n) !== 0n) c1 = gf2Times(even, c1)
    len >>= 1n
    if (len === 0n) break
    gf2Square(odd, even)
    if ((len & 1n) !== 0n) c1 = gf2Times(odd, c1)
    len >>= 1n
    if (len === 0n) break
  }
  return (c1 ^ crc2) & MASK
}
