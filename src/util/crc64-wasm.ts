/**
 * The table-driven CRC-64 of ./crc64.ts as a small WebAssembly function, built here from its
 * instructions (no binary blob, no build step). WebAssembly has 64-bit integers (one lookup per
 * byte instead of two 32-bit halves), and the loop takes 16 bytes a turn (slicing-by-16: the
 * lookups of a turn are independent, so they overlap). Memory: the sixteen tables (32 KiB) at 0,
 * then a DATA_MAX window the caller copies input into. `crc(len, reg)` runs the window's first
 * `len` bytes through the register `reg` (already xored with the initial value) and returns it.
 */

/** Tables: table k maps a byte to its effect on the register after k more zero bytes. */
const TABLES = 16
/** Where the input window starts (after the tables) and how many bytes one call takes. */
export const DATA_AT = TABLES * 256 * 8
export const DATA_MAX = 64 * 1024

// Opcodes and encodings (WebAssembly core spec 1.0, binary format).
const I32 = 0x7f
const I64 = 0x7e
const BLOCK = 0x02
const LOOP = 0x03
const VOID = 0x40
const END = 0x0b
const BR = 0x0c
const BR_IF = 0x0d
const LOCAL_GET = 0x20
const LOCAL_SET = 0x21
const I64_LOAD = 0x29
const I32_LOAD8_U = 0x2d
const I32_CONST = 0x41
const I64_CONST = 0x42
const I32_GE_U = 0x4f
const I32_ADD = 0x6a
const I32_AND = 0x71
const I32_XOR = 0x73
const I32_SHL = 0x74
const I64_XOR = 0x85
const I64_SHR_U = 0x88
const I32_WRAP_I64 = 0xa7

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

function sleb(n: number): number[] {
  const out: number[] = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b)
      return out
    }
    out.push(b | 0x80)
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body]
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Buffer.from(s, 'latin1')]
}

// Locals: 0 len (i32), 1 reg (i64), 2 p, 3 end16, 4 end (i32), 5 w, 6 v (i64).
const LEN = 0
const REG = 1
const P = 2
const END16 = 3
const ENDP = 4
const W = 5
const V = 6

/** Table k's entry for byte j of `word`: i64.load offset=k*2048 ((word >> 8j) & 255) << 3. */
function lookup(k: number, word: number, j: number): number[] {
  return [
    LOCAL_GET, word, I64_CONST, ...sleb(8 * j), I64_SHR_U, I32_WRAP_I64,
    I32_CONST, ...sleb(255), I32_AND, I32_CONST, 3, I32_SHL,
    I64_LOAD, 3, ...uleb(k * 2048),
  ]
}

function body(): number[] {
  const code: number[] = [
    // p = DATA_AT; end = p + len; end16 = p + (len & ~15)
    I32_CONST, ...sleb(DATA_AT), LOCAL_SET, P,
    LOCAL_GET, P, LOCAL_GET, LEN, I32_ADD, LOCAL_SET, ENDP,
    LOCAL_GET, P, LOCAL_GET, LEN, I32_CONST, ...sleb(-16), I32_AND, I32_ADD, LOCAL_SET, END16,
    // while (p < end16) { w = reg ^ load64(p); v = load64(p + 8);
    //   reg = T15[w.b0] ^ … ^ T8[w.b7] ^ T7[v.b0] ^ … ^ T0[v.b7]; p += 16 }
    BLOCK, VOID, LOOP, VOID,
    LOCAL_GET, P, LOCAL_GET, END16, I32_GE_U, BR_IF, 1,
    LOCAL_GET, REG, LOCAL_GET, P, I64_LOAD, 3, 0, I64_XOR, LOCAL_SET, W,
    LOCAL_GET, P, I64_LOAD, 3, 8, LOCAL_SET, V,
    ...lookup(15, W, 0),
  ]
  for (let j = 1; j < 8; j++) code.push(...lookup(15 - j, W, j), I64_XOR)
  for (let j = 0; j < 8; j++) code.push(...lookup(7 - j, V, j), I64_XOR)
  code.push(
    LOCAL_SET, REG,
    LOCAL_GET, P, I32_CONST, 16, I32_ADD, LOCAL_SET, P,
    BR, 0, END, END,
    // while (p < end) { reg = (reg >> 8) ^ T0[(reg ^ byte) & 255]; p++ }
    BLOCK, VOID, LOOP, VOID,
    LOCAL_GET, P, LOCAL_GET, ENDP, I32_GE_U, BR_IF, 1,
    LOCAL_GET, REG, I64_CONST, 8, I64_SHR_U,
    LOCAL_GET, REG, I32_WRAP_I64, LOCAL_GET, P, I32_LOAD8_U, 0, 0, I32_XOR,
    I32_CONST, ...sleb(255), I32_AND, I32_CONST, 3, I32_SHL, I64_LOAD, 3, 0,
    I64_XOR, LOCAL_SET, REG,
    LOCAL_GET, P, I32_CONST, 1, I32_ADD, LOCAL_SET, P,
    BR, 0, END, END,
    LOCAL_GET, REG, END,
  )
  // Locals after the parameters: three i32, two i64.
  const withLocals = [2, 3, I32, 2, I64, ...code]
  return [...uleb(withLocals.length), ...withLocals]
}

function moduleBytes(): Uint8Array {
  const pages = Math.ceil((DATA_AT + DATA_MAX) / 65536)
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 2, I32, I64, 1, I64]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0, ...uleb(pages)]),
    ...section(7, [2, ...name('mem'), 2, 0, ...name('crc'), 0, 0]),
    ...section(10, [1, ...body()]),
  ])
}

/** The part of the WebAssembly global used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object) => { readonly exports: Record<string, unknown> }
}

export interface WasmCrc {
  /** The window input is copied into before a call. */
  readonly window: Uint8Array
  readonly crc: (len: number, reg: bigint) => bigint
}

/**
 * Instantiates the function from table 0 given as (hi, lo) halves (the byte-at-a-time table of the
 * reflected polynomial); the others follow from it. Undefined where WebAssembly is unavailable
 * (the caller keeps its JavaScript loop).
 */
export function wasmCrc(tHi: Int32Array, tLo: Int32Array): WasmCrc | undefined {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly
  if (wasm === undefined) return undefined
  const instance = new wasm.Instance(new wasm.Module(moduleBytes()))
  const mem = instance.exports.mem as { readonly buffer: ArrayBuffer }
  const t0 = Array.from({ length: 256 }, (_, n) => (BigInt((tHi[n] as number) >>> 0) << 32n) | BigInt((tLo[n] as number) >>> 0))
  // WebAssembly memory is little-endian whatever the host.
  const tables = new DataView(mem.buffer, 0, DATA_AT)
  let prev = t0
  for (let k = 0; k < TABLES; k++) {
    for (let n = 0; n < 256; n++) tables.setBigUint64((k * 256 + n) * 8, prev[n] as bigint, true)
    prev = prev.map((e) => (e >> 8n) ^ (t0[Number(e & 0xffn)] as bigint))
  }
  return {
    window: new Uint8Array(mem.buffer, DATA_AT, DATA_MAX),
    crc: instance.exports.crc as (len: number, reg: bigint) => bigint,
  }
}
