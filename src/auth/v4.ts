/**
 * OSS signature V4 (OSS4-HMAC-SHA256), header and presigned forms (signatures.md §3). Builds the
 * CanonicalRequest bytes, the StringToSign and the signing key; verify.ts feeds it.
 */

import { createHash } from 'node:crypto'
import { ByteBuilder, headerValue, hmac, uriEncode, type QueryParam } from './canonical.js'
import { AuthError, type AuthHeaderProblem } from './errors.js'
import type { AuthScheme, HeaderList } from './types.js'
import { isV1Subresource } from './v1.js'

export const V4_ALGORITHM = 'OSS4-HMAC-SHA256'
export const V4_TERMINATOR = 'aliyun_v4_request'
export const V4_PRODUCT = 'oss'
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'

/** `cn-hangzhou` from either `cn-hangzhou` or `oss-cn-hangzhou` (ali-oss strips the prefix). */
export function bareRegion(region: string): string {
  return region.startsWith('oss-') ? region.slice(4) : region
}

/** `/<bucket>/<key>` re-encoded bytewise, `/` kept; `/<bucket>/` for buckets, `/` for the service. */
export function v4CanonicalUri(bucket: string | undefined, key: string | undefined): string {
  if (bucket === undefined || bucket === '') return '/'
  return uriEncode(`/${bucket}/${key ?? ''}`, true)
}

/**
 * How to write the canonical query when the client's choice is not visible on the wire:
 * empty values bare (Go v2, oss2, ali-oss sub-resources) or `k=` (ali-oss explicit '' values),
 * and sort order bytewise on encoded keys (Go v2) or ali-oss's `localeCompare` on raw keys.
 */
export interface V4QueryForm {
  readonly empty: 'bare' | 'equals' | 'equals-unless-subresource'
  readonly order: 'bytes' | 'locale'
}

export const V4_DEFAULT_FORM: V4QueryForm = { empty: 'bare', order: 'bytes' }

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** All parameters, re-encoded (`/` as %2F), sorted, `k=v` or bare `k`, joined by `&`. */
export function v4CanonicalQuery(params: readonly QueryParam[], form: V4QueryForm = V4_DEFAULT_FORM): string {
  const encoded = params.map((p) => ({ raw: p.key, key: uriEncode(p.key, false), value: uriEncode(p.value, false) }))
  if (form.order === 'locale') encoded.sort((a, b) => a.raw.localeCompare(b.raw) || compareBytes(a.value, b.value))
  else encoded.sort((a, b) => compareBytes(a.key, b.key) || compareBytes(a.value, b.value))
  return encoded
    .map((p) => {
      if (p.value !== '') return `${p.key}=${p.value}`
      const equals = form.empty === 'equals' || (form.empty === 'equals-unless-subresource' && !isV1Subresource(p.raw))
      return equals ? `${p.key}=` : p.key
    })
    .join('&')
}

/**
 * Validates and normalises an AdditionalHeaders list (`host;range`): lowercase, deduplicated,
 * sorted. Throws InvalidAuthHeader for an empty list, an empty item or a header the request lacks.
 */
export function parseAdditionalHeaders(value: string | undefined, headers: HeaderList, scheme: AuthScheme): string[] {
  if (value === undefined) return []
  const fail = (problem: AuthHeaderProblem): never => {
    throw new AuthError('InvalidAuthHeader', { scheme, problem })
  }
  if (value.trim() === '') fail('additional-headers-empty')
  const names = value.split(';').map((n) => n.trim().toLowerCase())
  if (names.some((n) => n === '')) fail('additional-headers-empty-item')
  for (const n of names) if (!headers.has(n)) fail('additional-header-missing')
  return [...new Set(names)].sort()
}

/** CanonicalHeaders block: content-type, content-md5, every x-oss-*, every additional header; each `name:value\n`. */
export function v4CanonicalHeaders(headers: HeaderList, additional: readonly string[]): string {
  const names = new Set<string>(additional)
  for (const name of headers.keys()) {
    if (name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-')) names.add(name)
  }
  let out = ''
  for (const name of [...names].sort()) {
    const value = headerValue(headers, name)
    if (value !== undefined) out += `${name}:${value}\n`
  }
  return out
}

export interface V4CanonicalRequestInput {
  readonly method: string
  readonly bucket: string | undefined
  readonly key: string | undefined
  /** Already canonical, from v4CanonicalQuery. */
  readonly canonicalQuery: string
  readonly headers: HeaderList
  /** From parseAdditionalHeaders. */
  readonly additionalHeaders: readonly string[]
}

/** The exact CanonicalRequest bytes; header values go in as their wire bytes (latin1). */
export function v4CanonicalRequest(input: V4CanonicalRequestInput): Buffer {
  const payload = headerValue(input.headers, 'x-oss-content-sha256') ?? UNSIGNED_PAYLOAD
  return new ByteBuilder()
    .utf8(`${input.method}\n${v4CanonicalUri(input.bucket, input.key)}\n${input.canonicalQuery}\n`)
    .latin1(`${v4CanonicalHeaders(input.headers, input.additionalHeaders)}\n${input.additionalHeaders.join(';')}\n${payload}`)
    .build()
}

/** `<yyyymmdd>/<region>/oss/aliyun_v4_request`. */
export function v4Scope(date8: string, region: string): string {
  return `${date8}/${region}/${V4_PRODUCT}/${V4_TERMINATOR}`
}

export function v4StringToSign(datetime: string, scope: string, canonicalRequest: Buffer | string): string {
  return `${V4_ALGORITHM}\n${datetime}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`
}

const SIGNING_KEYS = new Map<string, Buffer>()
const SIGNING_KEY_CACHE_SIZE = 256

/** HMAC chain "aliyun_v4"+secret → date → region → "oss" → "aliyun_v4_request"; cached per (secret, date, region). */
export function v4SigningKey(secret: string, date8: string, region: string): Buffer {
  const cacheKey = `${date8}\n${region}\n${secret}`
  const cached = SIGNING_KEYS.get(cacheKey)
  if (cached !== undefined) return cached
  const kDate = hmac('sha256', `aliyun_v4${secret}`, date8)
  const kRegion = hmac('sha256', kDate, region)
  const kProduct = hmac('sha256', kRegion, V4_PRODUCT)
  const key = hmac('sha256', kProduct, V4_TERMINATOR)
  if (SIGNING_KEYS.size >= SIGNING_KEY_CACHE_SIZE) {
    // Insertion order: drop the oldest entry.
    const oldest = SIGNING_KEYS.keys().next()
    if (oldest.done !== true) SIGNING_KEYS.delete(oldest.value)
  }
  SIGNING_KEYS.set(cacheKey, key)
  return key
}

/** Lowercase hex HMAC-SHA256(signingKey, StringToSign). */
export function v4Signature(signingKey: Buffer, stringToSign: string): string {
  return hmac('sha256', signingKey, stringToSign).toString('hex')
}

export interface V4Credential {
  readonly accessKeyId: string
  readonly date8: string
  readonly region: string
}

/** `<ak>/<yyyymmdd>/<region>/oss/aliyun_v4_request`; undefined when malformed or not for product `oss`. */
export function parseCredential(value: string): V4Credential | undefined {
  const parts = value.split('/')
  if (parts.length !== 5) return undefined
  const [accessKeyId, date8, region, product, terminator] = parts as [string, string, string, string, string]
  if (accessKeyId === '' || !/^\d{8}$/.test(date8) || region === '' || product !== V4_PRODUCT || terminator !== V4_TERMINATOR) return undefined
  return { accessKeyId, date8, region }
}

export interface V4Authorization {
  readonly credential: V4Credential
  readonly additionalHeaders: string | undefined
  readonly signature: string
}

/** Parses `OSS4-HMAC-SHA256 Credential=…, AdditionalHeaders=…, Signature=…` (fields in any order, optional spaces). */
export function parseV4Authorization(value: string): V4Authorization {
  const fail = (): never => {
    throw new AuthError('InvalidAuthHeader', { scheme: 'V4', problem: 'malformed' })
  }
  const rest = value.slice(V4_ALGORITHM.length)
  if (!/^\s/.test(rest)) fail()
  const fields = new Map<string, string>()
  for (const item of rest.split(',')) {
    const trimmed = item.trim()
    const eq = trimmed.indexOf('=')
    if (eq <= 0) fail()
    const name = trimmed.slice(0, eq).trim()
    if (name !== 'Credential' && name !== 'AdditionalHeaders' && name !== 'Signature') fail()
    if (fields.has(name)) fail()
    fields.set(name, trimmed.slice(eq + 1).trim())
  }
  const credentialText = fields.get('Credential')
  const signature = fields.get('Signature')
  if (credentialText === undefined || signature === undefined || signature === '') return fail()
  const credential = parseCredential(credentialText) ?? fail()
  return { credential, additionalHeaders: fields.get('AdditionalHeaders'), signature }
}
