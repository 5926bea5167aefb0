/**
 * OSS signature V1 (HMAC-SHA1), header and presigned forms (signatures.md §2). Builds the exact
 * StringToSign bytes; verify.ts decides which inputs to feed it.
 */

import { ByteBuilder, hmac, type QueryParam } from './canonical.js'
import type { HeaderList } from './types.js'

/**
 * The only query parameters V1 signs (besides every `x-oss-*` one): the union of the OSS doc
 * list, Go v1 `signKeyList`, Go v2 and oss2. Listing parameters (`prefix`, `marker`, …) are absent
 * on purpose: no SDK signs them.
 */
export const V1_SUBRESOURCES: ReadonlySet<string> = new Set([
  'acl', 'append', 'asyncFetch', 'bucketInfo', 'callback', 'callback-var', 'cname', 'comp', 'continuation-token', 'cors',
  'delete', 'encryption', 'endTime', 'img', 'inventory', 'inventoryId', 'lifecycle', 'live', 'location', 'logging',
  'metaQuery', 'objectMeta', 'partNumber', 'policy', 'position', 'qos', 'qosInfo', 'referer', 'regionList', 'replication',
  'replicationLocation', 'replicationProgress', 'requestPayment', 'resourceGroup', 'response-cache-control',
  'response-content-disposition', 'response-content-encoding', 'response-content-language', 'response-content-type',
  'response-expires', 'restore', 'security-token', 'sequential', 'startTime', 'stat', 'status', 'style', 'styleName',
  'symlink', 'tagging', 'transferAcceleration', 'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'vod',
  'website', 'worm', 'wormExtend', 'wormId',
])

export function isV1Subresource(key: string): boolean {
  return key.startsWith('x-oss-') || V1_SUBRESOURCES.has(key)
}

/** How an empty sub-resource value is written: bare `k` (OSS, SDKs) or `k=` (a retry for odd clients). */
export type EmptyForm = 'bare' | 'equals'

/**
 * The signed sub-resources of a decoded query: first value of each repeated key, in sorted order,
 * `undefined` for an empty value.
 */
export function v1Subresources(params: readonly QueryParam[]): [string, string | undefined][] {
  const seen = new Map<string, string | undefined>()
  for (const p of params) {
    if (!isV1Subresource(p.key) || seen.has(p.key)) continue
    seen.set(p.key, p.value === '' ? undefined : p.value)
  }
  return [...seen.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

/** `/`, `/<bucket>/` or `/<bucket>/<key>` (key decoded, raw UTF-8), then `?` + sorted sub-resources. */
export function v1CanonicalResource(
  bucket: string | undefined,
  key: string | undefined,
  subresources: readonly (readonly [string, string | undefined])[],
  empty: EmptyForm = 'bare',
): string {
  let resource = '/'
  if (bucket !== undefined && bucket !== '') {
    resource += `${bucket}/`
    if (key !== undefined) resource += key
  }
  if (subresources.length > 0) {
    resource += `?${subresources.map(([k, v]) => (v === undefined ? (empty === 'equals' ? `${k}=` : k) : `${k}=${v}`)).join('&')}`
  }
  return resource
}

/** `name:value\n` for every `x-oss-*` header, names sorted, repeats joined with ',', values trimmed. */
export function v1CanonicalHeaders(headers: HeaderList): string {
  const names = [...headers.keys()].filter((n) => n.startsWith('x-oss-')).sort()
  let out = ''
  for (const name of names) {
    const values = headers.get(name) ?? []
    out += `${name}:${values.map((v) => v.trim()).join(',')}\n`
  }
  return out
}

export interface V1StringToSignInput {
  readonly method: string
  /** Header values as received (latin1 strings), '' when absent. */
  readonly contentMd5: string
  readonly contentType: string
  /** The date slot: x-oss-date or Date for header auth, the `Expires` string for presigned URLs. */
  readonly date: string
  readonly headers: HeaderList
  /** From v1CanonicalResource. */
  readonly resource: string
}

/** The exact bytes V1 HMACs: header parts as latin1 (wire bytes), the resource as UTF-8. */
export function v1StringToSign(input: V1StringToSignInput): Buffer {
  return new ByteBuilder()
    .utf8(`${input.method}\n`)
    .latin1(`${input.contentMd5}\n${input.contentType}\n${input.date}\n${v1CanonicalHeaders(input.headers)}`)
    .utf8(input.resource)
    .build()
}

/** base64(HMAC-SHA1(secret, StringToSign)). */
export function v1Signature(secret: string, stringToSign: Buffer | string): string {
  return hmac('sha1', secret, stringToSign).toString('base64')
}
