/**
 * Multipart upload: InitiateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload,
 * AbortMultipartUpload, ListParts, ListMultipartUploads (oss-api.md §7).
 */
import type { Bucket, CompletePart, Upload } from '../../store/types.js'
import { readXmlBody, stageRequestBody } from '../body.js'
import { header, type RequestContext } from '../context.js'
import { OSS_EC } from '../errors.js'
import { attributesFromRequest, quoteEtag } from '../object-headers.js'
import { OssError } from '../oss-error.js'
import type { Op } from '../operations.js'
import { sendEmpty, sendXml } from '../respond.js'
import { buildXml, type XmlNode } from '../xml/build.js'
import { childElements, childText, parseXml } from '../xml/parse.js'
import { encodingIsUrl, intParam, requireBucket, strParam, urlEncodeKey } from './common.js'
import { commitOrDiscard, parseCopySource, readCopySource } from './object.js'

/** Every part but the last must be at least 100 KB at Complete. */
export const MIN_PART_SIZE = 100 * 1024
const COMPLETE_BODY_LIMIT = 4 * 1024 * 1024

function requireUpload(ctx: RequestContext, bucket: string, key: string): Upload {
  const uploadId = ctx.query.get('uploadId') ?? ''
  const upload = ctx.services.store.findUpload(bucket, key, uploadId)
  if (upload === undefined) throw new OssError('NoSuchUpload')
  return upload
}

function partNumber(ctx: RequestContext): number {
  const raw = ctx.query.get('partNumber') ?? ''
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < 1 || n > 10000) {
    throw new OssError('InvalidArgument', { extras: [['ArgumentName', 'partNumber'], ['ArgumentValue', raw]] })
  }
  return n
}

/** InitiateMultipartUpload: https://help.aliyun.com/document_detail/31992.html */
export function initiateMultipartUpload(ctx: RequestContext, op: Op<'InitiateMultipartUpload'>, found: Bucket | undefined): void {
  const bucket = requireBucket(ctx, op.bucket, found)
  const attributes = attributesFromRequest(ctx, bucket)
  if (header(ctx, 'x-oss-forbid-overwrite')?.toLowerCase() === 'true' && ctx.services.store.findObject(op.bucket, op.key) !== undefined) {
    throw new OssError('FileAlreadyExists', { ec: OSS_EC.FileAlreadyExists })
  }
  const upload = ctx.services.store.createUpload(op.bucket, op.key, attributes)
  const url = encodingIsUrl(ctx)
  sendXml(
    ctx,
    200,
    buildXml('InitiateMultipartUploadResult', [
      ['Bucket', op.bucket],
      ['Key', url ? urlEncodeKey(op.key) : op.key],
      ['UploadId', upload.uploadId],
      ['EncodingType', url ? 'url' : undefined],
    ]),
  )
}

/** UploadPart: https://help.aliyun.com/document_detail/31993.html */
export async function uploadPart(ctx: RequestContext, op: Op<'UploadPart'>, found: Bucket | undefined): Promise<void> {
  requireBucket(ctx, op.bucket, found)
  const n = partNumber(ctx)
  const upload = requireUpload(ctx, op.bucket, op.key)
  const blob = await stageRequestBody(ctx)
  const part = await commitOrDiscard(blob, () => ctx.services.store.putPart(upload, n, blob))
  sendEmpty(ctx, 200, { etag: quoteEtag(part.etag), 'x-oss-hash-crc64ecma': part.crc64, 'content-md5': blob.md5.toString('base64') })
}

/** UploadPartCopy: https://help.aliyun.com/document_detail/31994.html */
export async function uploadPartCopy(ctx: RequestContext, op: Op<'UploadPartCopy'>, found: Bucket | undefined): Promise<void> {
  requireBucket(ctx, op.bucket, found)
  const n = partNumber(ctx)
  const upload = requireUpload(ctx, op.bucket, op.key)
  // Source bucket, read permission and conditions as for CopyObject, except that the part-copy
  // page gives 412 for all four source conditions.
  const src = readCopySource(ctx, parseCopySource(ctx))
  if (src === 'not-modified') {
    const condition = header(ctx, 'x-oss-copy-source-if-none-match') !== undefined ? 'If-None-Match' : 'If-Modified-Since'
    throw new OssError('PreconditionFailed', { extras: [['Condition', condition]] })
  }
  if (src.type === 'Appendable') throw new OssError('InvalidArgument', { extras: [['ArgumentName', 'x-oss-copy-source'], ['ArgumentValue', 'Appendable']] })
  let range: { start: number; end: number } | undefined
  const rangeHeader = header(ctx, 'x-oss-copy-source-range')
  if (rangeHeader !== undefined) {
    const m = /^\s*bytes=(\d+)-(\d+)\s*$/.exec(rangeHeader)
    if (m !== null) {
      const start = Number(m[1])
      const end = Number(m[2])
      if (start <= end && end < src.size) range = { start, end }
    }
  }
  ctx.req.resume()
  const stream = ctx.services.store.openObject(src, range)
  const blob = await ctx.services.store.stageBlob(stream, { maxSize: src.size, signal: ctx.signal })
  const part = await commitOrDiscard(blob, () => ctx.services.store.putPart(upload, n, blob))
  const headers: Record<string, string> = { etag: quoteEtag(part.etag), 'x-oss-hash-crc64ecma': part.crc64 }
  if (range !== undefined) headers['content-range'] = `bytes ${range.start}-${range.end}/${src.size}`
  sendXml(
    ctx,
    200,
    buildXml('CopyPartResult', [
      ['LastModified', part.lastModified.toISOString()],
      ['ETag', quoteEtag(part.etag)],
    ]),
    headers,
  )
}

function parseCompleteParts(text: string): CompletePart[] {
  const doc = parseXml(text, 'CompleteMultipartUpload', new Set(['Part']))
  return childElements(doc, 'Part').map((p) => {
    const rawNumber = (childText(p, 'PartNumber') ?? '').trim()
    const etag = childText(p, 'ETag')
    if (!/^\d+$/.test(rawNumber) || etag === undefined) throw new OssError('MalformedXML')
    const n = Number(rawNumber)
    if (n < 1 || n > 10000) throw new OssError('InvalidPartOrder', { message: 'PartNumberRange' })
    return { partNumber: n, etag: etag.trim() }
  })
}

/** CompleteMultipartUpload: https://help.aliyun.com/document_detail/31995.html */
export async function completeMultipartUpload(ctx: RequestContext, op: Op<'CompleteMultipartUpload'>, found: Bucket | undefined): Promise<void> {
  requireBucket(ctx, op.bucket, found)
  const upload = requireUpload(ctx, op.bucket, op.key)
  const text = await readXmlBody(ctx, COMPLETE_BODY_LIMIT)
  const all = header(ctx, 'x-oss-complete-all')?.toLowerCase() === 'yes'
  let parts: CompletePart[] | 'all'
  if (all) {
    if (text.trim() !== '') throw new OssError('InvalidArgument', { extras: [['ArgumentName', 'x-oss-complete-all'], ['ArgumentValue', 'yes']] })
    parts = 'all'
  } else {
    parts = parseCompleteParts(text)
  }
  const forbid = header(ctx, 'x-oss-forbid-overwrite')?.toLowerCase() === 'true'
  const obj = ctx.services.store.completeUpload(upload, { parts, minPartSize: MIN_PART_SIZE }, { forbidOverwrite: forbid })
  const url = encodingIsUrl(ctx)
  // Virtual-hosted requests already name the bucket in Host; path-style ones get it prepended.
  const host = ctx.host.toLowerCase().startsWith(`${op.bucket}.`) ? ctx.host : `${op.bucket}.${ctx.host}`
  const location = `http://${host}/${urlEncodeKey(op.key)}`
  sendXml(
    ctx,
    200,
    buildXml('CompleteMultipartUploadResult', [
      ['EncodingType', url ? 'url' : undefined],
      ['Location', location],
      ['Bucket', op.bucket],
      ['Key', url ? urlEncodeKey(op.key) : op.key],
      ['ETag', quoteEtag(obj.etag)],
    ]),
    { etag: quoteEtag(obj.etag), 'x-oss-hash-crc64ecma': obj.crc64 },
  )
}

/** AbortMultipartUpload: https://help.aliyun.com/document_detail/31996.html */
export function abortMultipartUpload(ctx: RequestContext, op: Op<'AbortMultipartUpload'>, found: Bucket | undefined): void {
  requireBucket(ctx, op.bucket, found)
  const upload = requireUpload(ctx, op.bucket, op.key)
  ctx.services.store.abortUpload(upload)
  sendEmpty(ctx, 204)
}

/** ListParts: https://help.aliyun.com/document_detail/31998.html */
export function listParts(ctx: RequestContext, op: Op<'ListParts'>, found: Bucket | undefined): void {
  requireBucket(ctx, op.bucket, found)
  const upload = requireUpload(ctx, op.bucket, op.key)
  const maxParts = intParam(ctx, 'max-parts', 1000, 1, 1000)
  const marker = intParam(ctx, 'part-number-marker', 0, 0, 10000)
  const result = ctx.services.store.listParts(upload, { partNumberMarker: marker, maxParts })
  const url = encodingIsUrl(ctx)
  sendXml(
    ctx,
    200,
    buildXml('ListPartsResult', [
      ['Bucket', op.bucket],
      ['EncodingType', url ? 'url' : undefined],
      ['Key', url ? urlEncodeKey(op.key) : op.key],
      ['UploadId', upload.uploadId],
      ['StorageClass', upload.attributes.storageClass],
      ['PartNumberMarker', marker],
      ['NextPartNumberMarker', result.nextPartNumberMarker],
      ['MaxParts', maxParts],
      ['IsTruncated', result.truncated],
      ...result.parts.map(
        (p) =>
          [
            'Part',
            [
              ['PartNumber', p.partNumber],
              ['LastModified', p.lastModified.toISOString()],
              ['ETag', quoteEtag(p.etag)],
              ['HashCrc64ecma', p.crc64],
              ['Size', p.size],
            ],
          ] as const,
      ),
    ]),
  )
}

/** ListMultipartUploads: https://help.aliyun.com/document_detail/31997.html */
export function listMultipartUploads(ctx: RequestContext, op: Op<'ListMultipartUploads'>, found: Bucket | undefined): void {
  requireBucket(ctx, op.bucket, found)
  const prefix = strParam(ctx, 'prefix')
  const delimiter = strParam(ctx, 'delimiter')
  const keyMarker = strParam(ctx, 'key-marker')
  const uploadIdMarker = ctx.query.get('upload-id-marker') ?? ''
  const maxUploads = intParam(ctx, 'max-uploads', 1000, 1, 1000)
  const result = ctx.services.store.listUploads(op.bucket, { prefix, delimiter, keyMarker, uploadIdMarker, maxUploads })
  const url = encodingIsUrl(ctx)
  const enc = url ? urlEncodeKey : (s: string): string => s
  const uploads: Array<readonly [string, XmlNode]> = []
  const prefixes: Array<readonly [string, XmlNode]> = []
  for (const e of result.entries) {
    if (e.kind === 'prefix') prefixes.push(['CommonPrefixes', [['Prefix', enc(e.prefix)]]])
    else
      uploads.push([
        'Upload',
        [
          ['Key', enc(e.upload.key)],
          ['UploadId', e.upload.uploadId],
          ['StorageClass', e.upload.attributes.storageClass],
          ['Initiated', e.upload.initiated.toISOString()],
        ],
      ])
  }
  sendXml(
    ctx,
    200,
    buildXml('ListMultipartUploadsResult', [
      ['Bucket', op.bucket],
      ['EncodingType', url ? 'url' : undefined],
      ['KeyMarker', enc(keyMarker)],
      ['UploadIdMarker', uploadIdMarker],
      ['NextKeyMarker', enc(result.nextKeyMarker)],
      ['NextUploadIdMarker', result.nextUploadIdMarker],
      ['Delimiter', enc(delimiter)],
      ['Prefix', enc(prefix)],
      ['MaxUploads', maxUploads],
      ['IsTruncated', result.truncated],
      ...uploads,
      ...prefixes,
    ]),
  )
}
