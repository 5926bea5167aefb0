/**
 * Byte-level helpers shared by V1 and V4: query splitting and decoding, header joining,
 * percent-encoding, constant-time comparison. Header values are latin1 strings as Node gives them,
 * so their bytes are exactly what arrived on the wire.
 */

import { createHmac, timingSafeEqual } from 'node:crypto'
import type { HeaderList } from './types.js'

/** One `k[=v]` segment of a raw query string, undecoded. `rawValue` is undefined for a bare `k`. */
export interface RawParam {
  readonly rawKey: string
  readonly rawValue: string | undefined
}

/** A decoded query parameter; `value` is '' for both `k` and `k=`. */
export interface QueryParam {
  readonly key: string
  readonly value: string
}

/** How a raw `+` in the query decodes: literal (decodeURIComponent, ali-oss encodes `+` as %2B) or space (form encoding, Go). */
export type PlusMode = 'literal' | 'space'

export function splitQuery(rawQuery: string): RawParam[] {
  const out: RawParam[] = []
  if (rawQuery === '') return out
  for (const segment of rawQuery.split('&')) {
    if (segment === '') continue
    const eq = segment.indexOf('=')
    out.push(eq < 0 ? { rawKey: segment, rawValue: undefined } : { rawKey: segment.slice(0, eq), rawValue: segment.slice(eq + 1) })
  }
  return out
}

/** Percent-decodes once; a malformed escape leaves the text as it was (it then simply fails to verify). */
export function decodeComponent(raw: string, plus: PlusMode): string {
  const s = plus === 'space' ? raw.replaceAll('+', ' ') : raw
  if (!s.includes('%')) return s
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

export function decodeQuery(params: readonly RawParam[], plus: PlusMode): QueryParam[] {
  return params.map((p) => ({ key: decodeComponent(p.rawKey, plus), value: p.rawValue === undefined ? '' : decodeComponent(p.rawValue, plus) }))
}

/** First value of a parameter, decoded with `+` literal; undefined when absent. */
export function firstParam(params: readonly RawParam[], key: string): string | undefined {
  for (const p of params) {
    if (decodeComponent(p.rawKey, 'literal') === key) return p.rawValue === undefined ? '' : decodeComponent(p.rawValue, 'literal')
  }
  return undefined
}

export function hasParam(params: readonly RawParam[], key: string): boolean {
  return firstParam(params, key) !== undefined
}

/** A header's values, each trimmed, joined with ',' (not Node's ', '); undefined when absent. */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  const values = headers.get(name)
  if (values === undefined || values.length === 0) return undefined
  if (values.length === 1) return (values[0] as string).trim()
  return values.map((v) => v.trim()).join(',')
}

const UNRESERVED = new Uint8Array(256)
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c)
  if (/[A-Za-z0-9\-._~]/.test(ch)) UNRESERVED[c] = 1
}
const HEX = '0123456789ABCDEF'

/**
 * RFC 3986 percent-encoding of the UTF-8 bytes: keeps `A-Z a-z 0-9 - . _ ~` (and `/` when asked),
 * everything else `%XX` uppercase. Same as ali-oss `encodeString` and Go v2 `escapePath`.
 */
export function uriEncode(s: string, keepSlash: boolean): string {
  let plain = true
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 128 || (UNRESERVED[c] === 0 && !(keepSlash && c === 0x2f))) {
      plain = false
      break
    }
  }
  if (plain) return s
  let out = ''
  for (const b of Buffer.from(s, 'utf8')) {
    if (UNRESERVED[b] === 1 || (keepSlash && b === 0x2f)) out += String.fromCharCode(b)
    else out += `%${HEX[b >> 4] as string}${HEX[b & 15] as string}`
  }
  return out
}

/** Builds a byte string from pieces: header values go in as latin1 (their wire bytes), everything else as UTF-8. */
export class ByteBuilder {
  private readonly parts: Buffer[] = []

  utf8(s: string): this {
    this.parts.push(Buffer.from(s, 'utf8'))
    return this
  }

  latin1(s: string): this {
    this.parts.push(Buffer.from(s, 'latin1'))
    return this
  }

  build(): Buffer {
    return Buffer.concat(this.parts)
  }
}

export function hmac(algorithm: 'sha1' | 'sha256', key: string | Buffer, data: string | Buffer): Buffer {
  return createHmac(algorithm, key).update(data).digest()
}

/** Constant-time equality; false for different lengths (which are not secret). */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** A HeaderList from a plain record, for signing our own requests and for tests. */
export function headerListFrom(headers: Readonly<Record<string, string>>): HeaderList {
  const map = new Map<string, string[]>()
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase()
    const existing = map.get(lower)
    if (existing === undefined) map.set(lower, [value])
    else existing.push(value)
  }
  return map
}
