/**
 * OSS object headers both ways: request headers → ObjectAttributes (validated, oss-api.md §8.1,
 * §10), and ObjectRecord → GET/HEAD response headers (§5).
 */
import type { OutgoingHttpHeaders } from 'node:http'
import type { Bucket, ObjectAcl, ObjectAttributes, ObjectRecord, StorageClass, StoredHeaderName, StoredHeaders } from '../store/types.js'
import { header, type RequestContext } from './context.js'
import { OSS_EC } from './errors.js'
import { OssError } from './oss-error.js'

export const STORED_HEADERS: readonly StoredHeaderName[] = [
  'content-type',
  'content-encoding',
  'content-disposition',
  'content-language',
  'cache-control',
  'expires',
]

/** User metadata of 8,192 bytes or more (names with their prefix, plus values) is refused. */
export const USER_META_LIMIT = 8192
const META_PREFIX = 'x-oss-meta-'
const META_NAME = /^[a-z0-9-]+$/

export const OBJECT_ACLS: readonly ObjectAcl[] = ['default', 'private', 'public-read', 'public-read-write']
export const STORAGE_CLASSES: readonly StorageClass[] = ['Standard', 'IA', 'Archive', 'ColdArchive']

function invalidArgument(name: string, value: string): OssError {
  return new OssError('InvalidArgument', { extras: [['ArgumentName', name], ['ArgumentValue', value]] })
}

/** Bytes of a header value as it crossed the wire (Node hands values over as latin1 strings). */
function wireBytes(s: string): number {
  return Buffer.byteLength(s, 'latin1')
}

export function userMetaSize(meta: ReadonlyArray<readonly [string, string]>): number {
  let total = 0
  for (const [name, value] of meta) total += META_PREFIX.length + wireBytes(name) + wireBytes(value)
  return total
}

export function parseUserMeta(ctx: RequestContext): Array<[string, string]> {
  const meta: Array<[string, string]> = []
  for (const [name, values] of ctx.headers) {
    if (!name.startsWith(META_PREFIX)) continue
    const short = name.slice(META_PREFIX.length)
    if (!META_NAME.test(short)) throw invalidArgument(name, values[0] ?? '')
    meta.push([short, values.map((v) => v.trim()).join(',')])
  }
  if (userMetaSize(meta) >= USER_META_LIMIT) {
    throw new OssError('InvalidArgument', { ec: OSS_EC.MetaTooLarge, extras: [['ArgumentName', 'x-oss-meta-*'], ['ArgumentValue', 'too large']] })
  }
  return meta
}

export function parseStoredHeaders(ctx: RequestContext): StoredHeaders {
  const out: { -readonly [K in StoredHeaderName]?: string } = {}
  for (const name of STORED_HEADERS) {
    const v = header(ctx, name)
    if (v !== undefined) out[name] = v
  }
  return out
}

export function parseObjectAcl(value: string | undefined, name = 'x-oss-object-acl'): ObjectAcl {
  if (value === undefined) return 'default'
  if (!(OBJECT_ACLS as readonly string[]).includes(value)) throw invalidArgument(name, value)
  return value as ObjectAcl
}

export function parseStorageClass(value: string | undefined, fallback: StorageClass): StorageClass {
  if (value === undefined) return fallback
  const found = STORAGE_CLASSES.find((c) => c.toLowerCase() === value.toLowerCase())
  if (found === undefined) throw invalidArgument('x-oss-storage-class', value)
  return found
}

/** `k1=v1&k2=v2`, URL-encoded; at most 10 tags, keys ≤ 128 bytes, values ≤ 256 bytes. */
export function parseTagging(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined
  const pairs = value.split('&')
  if (pairs.length > 10) throw invalidArgument('x-oss-tagging', value)
  const seen = new Set<string>()
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    let k: string
    let v: string
    try {
      k = decodeURIComponent((eq === -1 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '))
      v = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '))
    } catch {
      throw invalidArgument('x-oss-tagging', value)
    }
    if (k === '' || Buffer.byteLength(k) > 128 || Buffer.byteLength(v) > 256 || seen.has(k)) throw invalidArgument('x-oss-tagging', value)
    seen.add(k)
  }
  return value
}

export function tagCount(tagging: string | undefined): number {
  return tagging === undefined || tagging === '' ? 0 : tagging.split('&').length
}

/** Attributes of a new object from the request headers (PutObject, Initiate, Copy with REPLACE, first Append). */
export function attributesFromRequest(ctx: RequestContext, bucket: Bucket): ObjectAttributes {
  return {
    headers: parseStoredHeaders(ctx),
    userMeta: parseUserMeta(ctx),
    acl: parseObjectAcl(header(ctx, 'x-oss-object-acl')),
    storageClass: parseStorageClass(header(ctx, 'x-oss-storage-class'), bucket.storageClass),
    tagging: parseTagging(header(ctx, 'x-oss-tagging')),
    mirrored: false,
  }
}

export function quoteEtag(etag: string): string {
  return `"${etag}"`
}

export function httpDate(d: Date): string {
  return d.toUTCString()
}

/** GET/HEAD headers of a stored object (without Content-Length/Range, which the caller sets). */
export function objectResponseHeaders(obj: ObjectRecord): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = {
    'accept-ranges': 'bytes',
    etag: quoteEtag(obj.etag),
    'last-modified': httpDate(obj.lastModified),
    'x-oss-object-type': obj.type,
    'x-oss-storage-class': obj.storageClass,
    'x-oss-hash-crc64ecma': obj.crc64,
  }
  if (obj.contentMd5 !== undefined && obj.type === 'Normal') h['content-md5'] = obj.contentMd5
  h['content-type'] = obj.headers['content-type'] ?? 'application/octet-stream'
  for (const name of STORED_HEADERS) {
    if (name === 'content-type') continue
    const v = obj.headers[name]
    if (v !== undefined) h[name] = v
  }
  const acao = obj.headers['access-control-allow-origin']
  if (acao !== undefined) h['access-control-allow-origin'] = acao
  for (const [name, value] of obj.userMeta) h[`${META_PREFIX}${name}`] = value
  if (obj.type === 'Appendable') h['x-oss-next-append-position'] = String(obj.size)
  const tags = tagCount(obj.tagging)
  if (tags > 0) h['x-oss-tagging-count'] = String(tags)
  if (obj.mirrored) h['x-oss-tag'] = 'MIRROR'
  return h
}

/** Content-MD5 on a request: base64 of 16 bytes, else InvalidDigest. Returns the digest or undefined. */
export function requestMd5(ctx: RequestContext): Buffer | undefined {
  const v = header(ctx, 'content-md5')
  if (v === undefined) return undefined
  const trimmed = v.trim()
  const buf = Buffer.from(trimmed, 'base64')
  if (buf.length !== 16 || buf.toString('base64') !== trimmed) throw new OssError('InvalidDigest')
  return buf
}
