/**
 * The signing side, for our own CLI and tests: the same canonicalisation verify.ts uses, so what
 * these sign, verifyRequest accepts. Header values are signed as latin1 (the bytes Node sends).
 */

import { headerListFrom, uriEncode } from './canonical.js'
import { formatIsoBasic } from './time.js'
import { v1CanonicalResource, v1Signature, v1StringToSign } from './v1.js'
import {
  UNSIGNED_PAYLOAD,
  V4_ALGORITHM,
  bareRegion,
  parseAdditionalHeaders,
  v4CanonicalQuery,
  v4CanonicalRequest,
  v4Scope,
  v4Signature,
  v4SigningKey,
  v4StringToSign,
} from './v4.js'

type Subresources = Readonly<Record<string, string | undefined>>

function sortedEntries(record: Subresources): [string, string | undefined][] {
  return Object.entries(record)
    .map(([k, v]): [string, string | undefined] => [k, v === '' ? undefined : v])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

/**
 * A query string (without `?`) in the encoding the verifier expects: keys and values
 * percent-encoded (RFC 3986), sorted, bare `k` for an empty or undefined value.
 */
export function encodeQuery(query: Subresources): string {
  return sortedEntries(query)
    .map(([k, v]) => (v === undefined ? uriEncode(k, false) : `${uriEncode(k, false)}=${uriEncode(v, false)}`))
    .join('&')
}

function header(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v.trim()
  return undefined
}

export interface SignV1Input {
  readonly method: string
  readonly bucket?: string
  readonly key?: string
  /** Signed query parameters (V1 signs only sub-resources); '' or undefined → bare `k`. */
  readonly subresources?: Subresources
  /** Must already hold the date (`x-oss-date` or `Date`), Content-Type, Content-MD5 and `x-oss-*` to be sent. */
  readonly headers: Readonly<Record<string, string>>
  readonly secret: string
  readonly accessKeyId: string
}

/** Returns the Authorization header value `OSS <ak>:<signature>`. */
export function signV1(input: SignV1Input): string {
  const date = header(input.headers, 'x-oss-date') ?? header(input.headers, 'date') ?? ''
  const bytes = v1StringToSign({
    method: input.method.toUpperCase(),
    contentMd5: header(input.headers, 'content-md5') ?? '',
    contentType: header(input.headers, 'content-type') ?? '',
    date,
    headers: headerListFrom(input.headers),
    resource: v1CanonicalResource(input.bucket, input.key, sortedEntries(input.subresources ?? {})),
  })
  return `OSS ${input.accessKeyId}:${v1Signature(input.secret, bytes)}`
}

export interface PresignV1Input {
  readonly method: string
  readonly bucket?: string
  readonly key?: string
  /** Unix seconds. */
  readonly expires: number
  readonly subresources?: Subresources
  readonly accessKeyId: string
  readonly secret: string
}

/** Returns the query string to append (without `?`): OSSAccessKeyId, Expires, Signature and the sub-resources, sorted. */
export function presignV1(input: PresignV1Input): string {
  const subresources = input.subresources ?? {}
  const expires = String(Math.floor(input.expires))
  const bytes = v1StringToSign({
    method: input.method.toUpperCase(),
    contentMd5: '',
    contentType: '',
    date: expires,
    headers: new Map(),
    resource: v1CanonicalResource(input.bucket, input.key, sortedEntries(subresources)),
  })
  return encodeQuery({ ...subresources, OSSAccessKeyId: input.accessKeyId, Expires: expires, Signature: v1Signature(input.secret, bytes) })
}

export interface SignV4Input {
  readonly method: string
  readonly bucket?: string
  readonly key?: string
  /** Every query parameter that will be sent (V4 signs them all); '' → bare `k`. Send it with encodeQuery. */
  readonly query?: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly accessKeyId: string
  readonly secret: string
  /** Bare (`cn-hangzhou`) or with the `oss-` prefix. */
  readonly region: string
  readonly date: Date
  /** Extra headers to sign, listed in AdditionalHeaders (e.g. `host`); they must be in `headers`. */
  readonly additionalHeaders?: readonly string[]
}

export interface SignedV4 {
  readonly authorization: string
  /** The input headers plus `x-oss-date` and `x-oss-content-sha256` (UNSIGNED-PAYLOAD unless given). */
  readonly headers: Record<string, string>
}

export function signV4(input: SignV4Input): SignedV4 {
  const region = bareRegion(input.region)
  const datetime = formatIsoBasic(input.date)
  const date8 = datetime.slice(0, 8)
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(input.headers)) {
    const lower = k.toLowerCase()
    if (lower !== 'x-oss-date') headers[k] = v
  }
  headers['x-oss-date'] = datetime
  if (header(headers, 'x-oss-content-sha256') === undefined) headers['x-oss-content-sha256'] = UNSIGNED_PAYLOAD
  const list = headerListFrom(headers)
  const additional = input.additionalHeaders === undefined ? [] : parseAdditionalHeaders(input.additionalHeaders.join(';'), list, 'V4')
  const params = Object.entries(input.query ?? {}).map(([key, value]) => ({ key, value }))
  const canonicalRequest = v4CanonicalRequest({
    method: input.method.toUpperCase(),
    bucket: input.bucket,
    key: input.key,
    canonicalQuery: v4CanonicalQuery(params),
    headers: list,
    additionalHeaders: additional,
  })
  const scope = v4Scope(date8, region)
  const signature = v4Signature(v4SigningKey(input.secret, date8, region), v4StringToSign(datetime, scope, canonicalRequest))
  const extra = additional.length > 0 ? `,AdditionalHeaders=${additional.join(';')}` : ''
  return { authorization: `${V4_ALGORITHM} Credential=${input.accessKeyId}/${scope}${extra},Signature=${signature}`, headers }
}

export interface PresignV4Input {
  readonly method: string
  readonly bucket?: string
  readonly key?: string
  readonly query?: Readonly<Record<string, string>>
  /** Headers the request will carry that V4 signs (Content-Type, Content-MD5, x-oss-*); default none. */
  readonly headers?: Readonly<Record<string, string>>
  readonly accessKeyId: string
  readonly secret: string
  readonly region: string
  readonly date: Date
  /** 1..604800. */
  readonly expiresSeconds: number
}

/** Returns the query string to append (without `?`), x-oss-signature included. */
export function presignV4(input: PresignV4Input): string {
  const region = bareRegion(input.region)
  const datetime = formatIsoBasic(input.date)
  const date8 = datetime.slice(0, 8)
  const scope = v4Scope(date8, region)
  const query: Record<string, string> = {
    ...input.query,
    'x-oss-credential': `${input.accessKeyId}/${scope}`,
    'x-oss-date': datetime,
    'x-oss-expires': String(input.expiresSeconds),
    'x-oss-signature-version': V4_ALGORITHM,
  }
  const canonicalRequest = v4CanonicalRequest({
    method: input.method.toUpperCase(),
    bucket: input.bucket,
    key: input.key,
    canonicalQuery: v4CanonicalQuery(Object.entries(query).map(([key, value]) => ({ key, value }))),
    headers: headerListFrom(input.headers ?? {}),
    additionalHeaders: [],
  })
  const signature = v4Signature(v4SigningKey(input.secret, date8, region), v4StringToSign(datetime, scope, canonicalRequest))
  return encodeQuery({ ...query, 'x-oss-signature': signature })
}
