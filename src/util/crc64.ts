/**
 * CRC-64/XZ (what OSS calls "ECMA-182" in x-oss-hash-crc64ecma): reflected poly 0xC96C5795D7870F42,
 * init and xorout all ones. Check: "123456789" → 0x995DC9BBDF1939FA.
 * The register is kept as two 32-bit halves so the hot loop stays in small integers (bigint is
 * ~50× slower), and bytes are consumed eight at a time with slicing-by-8 tables; inputs of 1 KiB
 * and more go through the same tables in WebAssembly (64-bit registers: one lookup per byte).
 */

import { DATA_MAX, wasmCrc, type WasmCrc } from './crc64-wasm.js'

const POLY_HI = 0xc96c5795
const POLY_LO = 0xd7870f42

/**
 * Slicing-by-8 tables, table k at [k * 256, k * 256 + 256): table k maps a byte to its effect on
 * the register after k more zero bytes. Halves are stored in separate arrays.
 */
const T_HI = new Int32Array(8 * 256)
const T_LO = new Int32Array(8 * 256)
/** Word reads reinterpret bytes in platform order; the tables assume little-endian words. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

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
for (let k = 1; k < 8; k++) {
  for (let n = 0; n < 256; n++) {
    const prevHi = T_HI[(k - 1) * 256 + n] as number
    const prevLo = T_LO[(k - 1) * 256 + n] as number
    const idx = prevLo & 0xff
    T_HI[k * 256 + n] = (prevHi >>> 8) ^ (T_HI[idx] as number)
    T_LO[k * 256 + n] = ((prevLo >>> 8) | (prevHi << 24)) ^ (T_LO[idx] as number)
  }
}

/** The same loop in WebAssembly (./crc64-wasm.ts), for inputs long enough to repay a call. */
const WASM = wasmCrc(T_HI, T_LO)
const WASM_MIN = 1024

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
    if (WASM !== undefined && buf.length >= WASM_MIN) return this.updateWasm(WASM, buf)
    const th = T_HI
    const tl = T_LO
    let hi = this.hi | 0
    let lo = this.lo | 0
    let i = 0
    const len = buf.length
    // Bring the read position to a 4-byte boundary, then read whole words (little-endian only).
    if (LITTLE_ENDIAN && len >= 64) {
      const misalign = (4 - ((buf.byteOffset + i) & 3)) & 3
      for (; i < misalign; i++) {
        const idx = (lo ^ (buf[i] as number)) & 0xff
        lo = ((lo >>> 8) | (hi << 24)) ^ (tl[idx] as number)
        hi = (hi >>> 8) ^ (th[idx] as number)
      }
      const words = (len - i) >>> 3
      const w = new Int32Array(buf.buffer, buf.byteOffset + i, words * 2)
      for (let j = 0; j < w.length; j += 2) {
        lo ^= w[j] as number
        hi ^= w[j + 1] as number
        const l = lo
        const h = hi
        lo =
          (tl[1792 + (l & 0xff)] as number) ^
          (tl[1536 + ((l >>> 8) & 0xff)] as number) ^
          (tl[1280 + ((l >>> 16) & 0xff)] as number) ^
          (tl[1024 + (l >>> 24)] as number) ^
          (tl[768 + (h & 0xff)] as number) ^
          (tl[512 + ((h >>> 8) & 0xff)] as number) ^
          (tl[256 + ((h >>> 16) & 0xff)] as number) ^
          (tl[h >>> 24] as number)
        hi =
          (th[1792 + (l & 0xff)] as number) ^
          (th[1536 + ((l >>> 8) & 0xff)] as number) ^
          (th[1280 + ((l >>> 16) & 0xff)] as number) ^
          (th[1024 + (l >>> 24)] as number) ^
          (th[768 + (h & 0xff)] as number) ^
          (th[512 + ((h >>> 8) & 0xff)] as number) ^
          (th[256 + ((h >>> 16) & 0xff)] as number) ^
          (th[h >>> 24] as number)
      }
      i += words * 8
    }
    for (; i < len; i++) {
      const idx = (lo ^ (buf[i] as number)) & 0xff
      lo = ((lo >>> 8) | (hi << 24)) ^ (tl[idx] as number)
      hi = (hi >>> 8) ^ (th[idx] as number)
    }
    this.hi = hi >>> 0
    this.lo = lo >>> 0
    return this
  }

  private updateWasm(wasm: WasmCrc, buf: Uint8Array): this {
    let reg = (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0)
    for (let off = 0; off < buf.length; off += DATA_MAX) {
      const piece = buf.subarray(off, off + DATA_MAX)
      wasm.window.set(piece)
      reg = wasm.crc(piece.length, reg)
    }
    // An i64 comes back from WebAssembly signed.
    reg = BigInt.asUintN(64, reg)
    this.hi = Number(reg >> 32n)
    this.lo = Number(reg & 0xffffffffn)
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
//
// A matrix is 64 rows of (hi, lo) pairs; row i is the image of register bit i. ZERO_OPS holds,
// for k = 0..63, the operator that feeds 2^k zero bytes through the register, computed once on
// first use; a combine then costs one matrix-vector product per set bit of len2.

let ZERO_OPS: Uint32Array | undefined

/** out[outAt..] = mat × (hi, lo); returns nothing, writes the pair. */
function gf2Times(mat: Uint32Array, at: number, hi: number, lo: number, out: Uint32Array, outAt: number): void {
  let sumHi = 0
  let sumLo = 0
  let row = at
  while (lo !== 0) {
    if ((lo & 1) !== 0) {
      sumHi ^= mat[row] as number
      sumLo ^= mat[row + 1] as number
    }
    lo >>>= 1
    row += 2
  }
  row = at + 64
  while (hi !== 0) {
    if ((hi & 1) !== 0) {
      sumHi ^= mat[row] as number
      sumLo ^= mat[row + 1] as number
    }
    hi >>>= 1
    row += 2
  }
  out[outAt] = sumHi >>> 0
  out[outAt + 1] = sumLo >>> 0
}

/** dst[dstAt..] = src[srcAt..]²; matrices are 128 numbers long. */
function gf2Square(dst: Uint32Array, dstAt: number, src: Uint32Array, srcAt: number): void {
  for (let n = 0; n < 64; n++) {
    gf2Times(src, srcAt, src[srcAt + 2 * n] as number, src[srcAt + 2 * n + 1] as number, dst, dstAt + 2 * n)
  }
}

function zeroOps(): Uint32Array {
  if (ZERO_OPS !== undefined) return ZERO_OPS
  // Operator for one zero bit: shift right by one, xor the poly when bit 0 falls out.
  const bit = new Uint32Array(128)
  bit[0] = POLY_HI
  bit[1] = POLY_LO
  for (let n = 1; n < 64; n++) {
    // row n = 1 << (n - 1)
    if (n - 1 < 32) bit[2 * n + 1] = (1 << (n - 1)) >>> 0
    else bit[2 * n] = (1 << (n - 33)) >>> 0
  }
  const two = new Uint32Array(128)
  const four = new Uint32Array(128)
  gf2Square(two, 0, bit, 0)
  gf2Square(four, 0, two, 0)
  const ops = new Uint32Array(64 * 128)
  gf2Square(ops, 0, four, 0) // 8 zero bits = 1 zero byte
  for (let k = 1; k < 64; k++) gf2Square(ops, k * 128, ops, (k - 1) * 128)
  ZERO_OPS = ops
  return ops
}

const MASK = 0xffffffffffffffffn

/**
 * CRC of A‖B given crc(A), crc(B) and the byte length of B (oss2 `crc64_combine`, Go
 * `CRC64Combine`). O(log len2) small-integer matrix-vector products.
 */
export function crc64Combine(crc1: bigint, crc2: bigint, len2: number): bigint {
  if (len2 <= 0) return crc1
  const ops = zeroOps()
  const reg = new Uint32Array(2)
  const c1 = crc1 & MASK
  reg[0] = Number(c1 >> 32n)
  reg[1] = Number(c1 & 0xffffffffn)
  let len = len2
  let k = 0
  while (len > 0 && k < 64) {
    if (len % 2 === 1) gf2Times(ops, k * 128, reg[0], reg[1], reg, 0)
    len = Math.floor(len / 2)
    k++
  }
  const combined = (BigInt(reg[0]) << 32n) | BigInt(reg[1])
  return (combined ^ crc2) & MASK
}
