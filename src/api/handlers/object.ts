/**
 * Object operations: PutObject, GetObject, HeadObject, GetObjectMeta, DeleteObject,
 * DeleteMultipleObjects, CopyObject, AppendObject, Put/GetObjectAcl.
 */
import type { OutgoingHttpHeaders } from 'node:http'
import { anonymousAllowed } from '../../auth/acl.js'
import { isStoreError } from '../../store/errors.js'
import type { Bucket, ByteRange, ObjectAttributes, ObjectRecord, StagedBlob } from '../../store/types.js'
import { MAX_OBJECT_SIZE, readXmlBody, stageRequestBody } from '../body.js'
import { evaluateConditions, type ConditionHeaders } from '../conditions.js'
import { header, type RequestContext } from '../context.js'
import { OSS_EC } from '../errors.js'
import {
  attributesFromRequest,
  httpDate,
  objectResponseHeaders,
  parseObjectAcl,
  parseStorageClass,
  parseTagging,
  quoteEtag,
} from '../object-headers.js'
import { OssError } from '../oss-error.js'
import type { Op } from '../operations.js'
import { decideRange } from '../range.js'
import { sendBuffer, sendEmpty, sendHeaders, sendShared, sendStream, sendXml } from '../respond.js'
import { buildXml } from '../xml/build.js'
import { childElements, childText, parseXml } from '../xml/parse.js'
import { encodingIsUrl, ownerNode, requireBucket, urlEncodeKey } from './common.js'
import { aclNode } from './bucket.js'
import { countMirrorHit, serveMiss } from './mirror.js'

/** The largest CopyObject source. */
const MAX_COPY_SOURCE = 1024 ** 3

export function noSuchKey(key: string): OssError {
  return new OssError('NoSuchKey', { ec: OSS_EC.NoSuchKey, extras: [['Key', key]] })
}

function forbidOverwrite(ctx: RequestContext): boolean {
  return header(ctx, 'x-oss-forbid-overwrite')?.toLowerCase() === 'true'
}

/** Commits a staged blob, discarding it if the commit throws. */
export async function commitOrDiscard<T>(blob: StagedBlob, commit: () => T): Promise<T> {
  try {
    return commit()
  } catch (err) {
    await blob.discard()
    throw err
  }
}

function writeResultHeaders(obj: ObjectRecord): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = { etag: quoteEtag(obj.etag), 'x-oss-hash-crc64ecma': obj.crc64 }
  if (obj.contentMd5 !== undefined) h['content-md5'] = obj.contentMd5
  return h
}

/** PutObject: https://help.aliyun.com/document_detail/31978.html */
export async function putObject(ctx: RequestContext, op: Op<'PutObject'>, found: Bucket | undefined): Promise<void> {
  const bucket = requireBucket(ctx, op.bucket, found)
  const attributes = attributesFromRequest(ctx, bucket)
  const forbid = forbidOverwrite(ctx)
  if (forbid && ctx.services.store.findObject(op.bucket, op.key) !== undefined) {
    throw new OssError('FileAlreadyExists', { ec: OSS_EC.FileAlreadyExists })
  }
  const blob = await stageRequestBody(ctx)
  const obj = await commitOrDiscard(blob, () => ctx.services.store.putObject(op.bucket, op.key, blob, attributes, { forbidOverwrite: forbid }))
  sendEmpty(ctx, 200, writeResultHeaders(obj))
}

function conditionHeaders(ctx: RequestContext): ConditionHeaders {
  return {
    ifMatch: header(ctx, 'if-match'),
    ifNoneMatch: header(ctx, 'if-none-match'),
    ifModifiedSince: header(ctx, 'if-modified-since'),
    ifUnmodifiedSince: header(ctx, 'if-unmodified-since'),
  }
}

/** 304 or 412 if the request's conditions say so; true when the response was settled. */
function applyConditions(ctx: RequestContext, obj: ObjectRecord): boolean {
  const result = evaluateConditions(conditionHeaders(ctx), obj.etag, obj.lastModified)
  if (result.kind === 'failed') throw new OssError('PreconditionFailed', { extras: [['Condition', result.condition]] })
  if (result.kind === 'not-modified') {
    sendHeaders(ctx, 304, { etag: quoteEtag(obj.etag), 'last-modified': httpDate(obj.lastModified) })
    return true
  }
  return false
}

const RESPONSE_OVERRIDES: ReadonlyArray<readonly [string, string]> = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
]

function responseOverrides(ctx: RequestContext): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = []
  for (const [param, name] of RESPONSE_OVERRIDES) {
    const v = ctx.query.get(param)
    if (v !== undefined) out.push([name, v])
  }
  if (out.length > 0 && ctx.auth.kind === 'anonymous') throw new OssError('InvalidRequest')
  return out
}

/** Bodies up to this size are read in one go and sent with the headers; larger ones stream. */
const SMALL_BODY = 64 * 1024

async function sendBody(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, obj: ObjectRecord, range: ByteRange | undefined): Promise<void> {
  // A hot body (up to 1 MiB) is one Buffer shared by every response, sent in one write.
  const shared = await ctx.services.store.openShared?.(obj, range)
  if (shared !== undefined) {
    sendShared(ctx, status, headers, shared)
    return
  }
  const length = range === undefined ? obj.size : range.end - range.start + 1
  if (length <= SMALL_BODY) {
    sendBuffer(ctx, status, headers, await ctx.services.store.readObject(obj, range))
    return
  }
  await sendStream(ctx, status, headers, ctx.services.store.openObject(obj, range))
}

/** Sends a stored object with the request's Range, conditionals and response-* overrides. */
export async function sendObject(ctx: RequestContext, obj: ObjectRecord): Promise<void> {
  const overrides = ctx.method === 'GET' ? responseOverrides(ctx) : []
  if (applyConditions(ctx, obj)) return
  const headers = objectResponseHeaders(obj)
  for (const [name, value] of overrides) headers[name] = value
  if (ctx.method === 'HEAD') {
    headers['content-length'] = String(obj.size)
    sendHeaders(ctx, 200, headers)
    return
  }
  const standard = header(ctx, 'x-oss-range-behavior')?.toLowerCase() === 'standard'
  const decision = decideRange(header(ctx, 'range'), obj.size, standard)
  if (decision.kind === 'unsatisfiable') {
    throw new OssError('InvalidRange', { headers: { 'content-range': `bytes */${obj.size}` } })
  }
  if (decision.kind === 'partial') {
    const { start, end } = decision.range
    headers['content-range'] = `bytes ${start}-${end}/${obj.size}`
    headers['content-length'] = String(end - start + 1)
    ctx.outcome.bytes = end - start + 1
    await sendBody(ctx, 206, headers, obj, decision.range)
    return
  }
  headers['content-length'] = String(obj.size)
  ctx.outcome.bytes = obj.size
  await sendBody(ctx, 200, headers, obj, undefined)
}

/** How often a read retries when the object is replaced between lookup and open. */
const STALE_READ_RETRIES = 3

/** GetObject: https://help.aliyun.com/document_detail/31980.html */
export async function getObject(ctx: RequestContext, op: Op<'GetObject'> | Op<'HeadObject'>, found: Bucket | undefined): Promise<void> {
  const bucket = requireBucket(ctx, op.bucket, found)
  for (let attempt = 0; ; attempt++) {
    const obj = attempt === 0 && ctx.prefetched !== undefined ? ctx.prefetched.object : ctx.services.store.findObject(op.bucket, op.key)
    if (obj === undefined) {
      if (await serveMiss(ctx, bucket, op)) return
      throw noSuchKey(op.key)
    }
    if (attempt === 0) countMirrorHit(ctx, bucket, op.key)
    try {
      await sendObject(ctx, obj)
      return
    } catch (err) {
      // Replaced or deleted after the lookup (before any header went out): look it up again.
      if (!isStoreError(err, 'ObjectChanged') || ctx.res.headersSent || attempt >= STALE_READ_RETRIES) throw err
    }
  }
}

/** GetObjectMeta: https://help.aliyun.com/document_detail/31985.html */
export function getObjectMeta(ctx: RequestContext, op: Op<'GetObjectMeta'>, found: Bucket | undefined): void {
  requireBucket(ctx, op.bucket, found)
  const obj = ctx.services.store.findObject(op.bucket, op.key)
  if (obj === undefined) throw noSuchKey(op.key)
  sendHeaders(ctx, 200, {
    etag: quoteEtag(obj.etag),
    'last-modified': httpDate(obj.lastModified),
    'content-length': String(obj.size),
    'x-oss-hash-crc64ecma': obj.crc64,
  })
}

/** DeleteObject (204 also when absent): https://help.aliyun.com/document_detail/31982.html */
export function deleteObject(ctx: RequestContext, op: Op<'DeleteObject'>, found: Bucket | undefined): void {
  requireBucket(ctx, op.bucket, found)
  const versionId = ctx.query.get('versionId')
  // Objects are unversioned: only the `null` version exists.
  if (versionId === undefined || versionId === 'null' || versionId === '') ctx.services.store.deleteObject(op.bucket, op.key)
  sendEmpty(ctx, 204, versionId !== undefined ? { 'x-oss-version-id': versionId } : {})
}

const DELETE_LIMIT_BYTES = 2 * 1024 * 1024
const DELETE_MAX_KEYS = 1000

/** DeleteMultipleObjects: https://help.aliyun.com/document_detail/31983.html */
export async function deleteMultipleObjects(ctx: RequestContext, op: Op<'DeleteMultipleObjects'>, found: Bucket | undefined): Promise<void> {
  requireBucket(ctx, op.bucket, found)
  const text = await readXmlBody(ctx, DELETE_LIMIT_BYTES)
  const doc = parseXml(text, 'Delete', new Set(['Object']))
  const quiet = (childText(doc, 'Quiet') ?? 'false').trim().toLowerCase() === 'true'
  const objects = childElements(doc, 'Object')
  if (objects.length > DELETE_MAX_KEYS) throw new OssError('MalformedXML')
  const entries = objects.map((o) => {
    const key = childText(o, 'Key')
    if (key === undefined || key === '') throw new OssError('UserKeyMustBeSpecified')
    return { key, versionId: childText(o, 'VersionId') }
  })
  const deletable = entries.filter((e) => e.versionId === undefined || e.versionId === 'null' || e.versionId === '').map((e) => e.key)
  ctx.services.store.deleteObjects(op.bucket, deletable)
  const url = encodingIsUrl(ctx)
  const deleted = quiet
    ? []
    : entries.map((e) => ['Deleted', [['Key', url ? urlEncodeKey(e.key) : e.key], ['VersionId', e.versionId]]] as const)
  sendXml(ctx, 200, buildXml('DeleteResult', [['EncodingType', url ? 'url' : undefined], ...deleted]))
}

interface CopySource {
  readonly bucket: string
  readonly key: string
}

export function parseCopySource(ctx: RequestContext): CopySource {
  const raw = header(ctx, 'x-oss-copy-source')
  if (raw === undefined) throw new OssError('InvalidArgument', { message: 'CopySourceInvalid' })
  let value = raw.trim()
  const q = value.indexOf('?')
  if (q !== -1) value = value.slice(0, q)
  if (value.startsWith('/')) value = value.slice(1)
  const slash = value.indexOf('/')
  if (slash <= 0 || slash === value.length - 1) throw new OssError('InvalidArgument', { message: 'CopySourceInvalid' })
  try {
    return { bucket: decodeURIComponent(value.slice(0, slash)), key: decodeURIComponent(value.slice(slash + 1)) }
  } catch {
    throw new OssError('InvalidArgument', { message: 'CopySourceInvalid' })
  }
}

/** Reads the copy source, checking the caller may read it and the source conditions. */
export function readCopySource(ctx: RequestContext, source: CopySource): ObjectRecord | 'not-modified' {
  const srcBucket = ctx.services.store.findBucket(source.bucket)
  if (srcBucket === undefined) {
    throw new OssError('NoSuchBucket', { ec: OSS_EC.NoSuchBucket, extras: [['BucketName', source.bucket]] })
  }
  const src = ctx.services.store.findObject(source.bucket, source.key)
  if (ctx.auth.kind === 'anonymous' && !anonymousAllowed('object-read', srcBucket.acl, src?.acl)) {
    throw new OssError('AccessDenied', { message: 'ObjectAccessDenied' })
  }
  if (src === undefined) throw noSuchKey(source.key)
  const pick = (name: string): string | undefined => header(ctx, `x-oss-copy-source-${name}`) ?? header(ctx, name)
  const result = evaluateConditions(
    {
      ifMatch: pick('if-match'),
      ifNoneMatch: pick('if-none-match'),
      ifModifiedSince: pick('if-modified-since'),
      ifUnmodifiedSince: pick('if-unmodified-since'),
    },
    src.etag,
    src.lastModified,
  )
  if (result.kind === 'failed') throw new OssError('PreconditionFailed', { extras: [['Condition', result.condition]] })
  if (result.kind === 'not-modified') return 'not-modified'
  return src
}

/** CopyObject: https://help.aliyun.com/document_detail/31979.html */
export async function copyObject(ctx: RequestContext, op: Op<'CopyObject'>, found: Bucket | undefined): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await copyObjectOnce(ctx, op, found)
      return
    } catch (err) {
      // The source was replaced while we read it: copy the new one instead.
      if (!isStoreError(err, 'ObjectChanged') || attempt >= STALE_READ_RETRIES) throw err
    }
  }
}

async function copyObjectOnce(ctx: RequestContext, op: Op<'CopyObject'>, found: Bucket | undefined): Promise<void> {
  const bucket = requireBucket(ctx, op.bucket, found)
  const source = parseCopySource(ctx)
  const src = readCopySource(ctx, source)
  if (src === 'not-modified') {
    sendEmpty(ctx, 304)
    return
  }
  if (src.size > MAX_COPY_SOURCE) throw new OssError('EntityTooLarge', { message: 'CopySourceTooLarge' })
  const directive = (header(ctx, 'x-oss-metadata-directive') ?? 'COPY').toUpperCase()
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new OssError('InvalidArgument', { extras: [['ArgumentName', 'x-oss-metadata-directive'], ['ArgumentValue', directive]] })
  }
  const taggingDirective = (header(ctx, 'x-oss-tagging-directive') ?? 'Copy').toLowerCase()
  if (taggingDirective !== 'copy' && taggingDirective !== 'replace') {
    throw new OssError('InvalidArgument', { extras: [['ArgumentName', 'x-oss-tagging-directive'], ['ArgumentValue', taggingDirective]] })
  }
  const self = source.bucket === op.bucket && source.key === op.key
  const fromRequest = attributesFromRequest(ctx, bucket)
  const attributes: ObjectAttributes =
    directive === 'REPLACE' || self
      ? fromRequest
      : {
          headers: src.headers,
          userMeta: src.userMeta,
          acl: fromRequest.acl,
          storageClass: parseStorageClass(header(ctx, 'x-oss-storage-class'), src.storageClass),
          tagging: src.tagging,
          mirrored: false,
        }
  const tagged: ObjectAttributes =
    taggingDirective === 'replace' ? { ...attributes, tagging: parseTagging(header(ctx, 'x-oss-tagging')) } : { ...attributes, tagging: src.tagging }
  // A Multipart or Appendable source has no stored MD5; let the store compute it without blocking.
  if (src.type !== 'Normal') await ctx.services.store.prepareCopy?.(src)
  const obj = ctx.services.store.copyObject(src, op.bucket, op.key, tagged, { forbidOverwrite: forbidOverwrite(ctx) })
  sendXml(
    ctx,
    200,
    buildXml('CopyObjectResult', [
      ['ETag', quoteEtag(obj.etag)],
      ['LastModified', obj.lastModified.toISOString()],
    ]),
    { etag: quoteEtag(obj.etag), 'x-oss-hash-crc64ecma': obj.crc64 },
  )
}

/** AppendObject: https://help.aliyun.com/document_detail/31981.html */
export async function appendObject(ctx: RequestContext, op: Op<'AppendObject'>, found: Bucket | undefined): Promise<void> {
  const bucket = requireBucket(ctx, op.bucket, found)
  const raw = ctx.query.get('position')
  if (raw === undefined || !/^\d+$/.test(raw)) {
    throw new OssError('InvalidArgument', { extras: [['ArgumentName', 'position'], ['ArgumentValue', raw ?? '']] })
  }
  const position = Number(raw)
  const current = ctx.services.store.findObject(op.bucket, op.key)
  if (current !== undefined) {
    if (current.type !== 'Appendable') throw new OssError('ObjectNotAppendable')
    if (current.size !== position) {
      throw new OssError('PositionNotEqualToLength', { headers: { 'x-oss-next-append-position': String(current.size) } })
    }
  } else if (position !== 0) {
    throw new OssError('PositionNotEqualToLength', { headers: { 'x-oss-next-append-position': '0' } })
  }
  const attributes = attributesFromRequest(ctx, bucket)
  const blob = await stageRequestBody(ctx, MAX_OBJECT_SIZE - position)
  const obj = await commitOrDiscard(blob, () => ctx.services.store.appendObject(op.bucket, op.key, position, blob, attributes, MAX_OBJECT_SIZE))
  sendEmpty(ctx, 200, {
    etag: quoteEtag(obj.etag),
    'x-oss-next-append-position': String(obj.size),
    'x-oss-hash-crc64ecma': obj.crc64,
  })
}

/** PutObjectACL: https://help.aliyun.com/document_detail/31986.html */
export function putObjectAcl(ctx: RequestContext, op: Op<'PutObjectAcl'>, found: Bucket | undefined): void {
  requireBucket(ctx, op.bucket, found)
  const acl = parseObjectAcl(header(ctx, 'x-oss-object-acl'))
  ctx.services.store.setObjectAcl(op.bucket, op.key, acl)
  sendEmpty(ctx, 200)
}

/** GetObjectACL: https://help.aliyun.com/document_detail/31987.html */
export function getObjectAcl(ctx: RequestContext, op: Op<'GetObjectAcl'>, found: Bucket | undefined): void {
  requireBucket(ctx, op.bucket, found)
  const obj = ctx.services.store.findObject(op.bucket, op.key)
  if (obj === undefined) throw noSuchKey(op.key)
  sendXml(ctx, 200, aclNode(ctx, obj.acl))
}

export { ownerNode }
