/**
 * (method, bucket, key, query) → Operation. Pure. A known OSS sub-resource that Mirrorstore does not
 * implement is an error, never the plain operation (oss-api.md §1).
 */
import type { BucketOpName, ObjectOpName, Operation } from './operations.js'
import { OssError } from './oss-error.js'

export type Query = ReadonlyMap<string, string>

/** OSS sub-resources Mirrorstore does not implement: answered with NotImplemented. */
const UNSUPPORTED = new Set([
  'lifecycle', 'cors', 'policy', 'referer', 'logging', 'encryption', 'tagging', 'versioning', 'replication',
  'replicationLocation', 'replicationProgress', 'inventory', 'qos', 'qosInfo', 'requestPayment', 'transferAcceleration',
  'symlink', 'restore', 'live', 'img', 'style', 'stat', 'cname', 'comp', 'vod', 'asyncFetch', 'metaQuery',
  'resourceGroup', 'regionList', 'x-oss-process', 'accessPoint', 'policyStatus', 'httpsConfig', 'objectWorm',
  'processConfiguration', 'responseHeader', 'userDefinedLogFieldsConfig', 'dataredundancytransition', 'select',
  'x-oss-async-process', 'publicAccessBlock', 'archiveDirectRead', 'overwriteConfig', 'cleanRestoredObject',
  'bucketArchiveDirectRead', 'blockPublicAccess', 'redundancyTransition', 'reservedcapacity', 'sealAppendObject',
])

function unsupported(query: Query): void {
  for (const name of query.keys()) {
    if (UNSUPPORTED.has(name)) throw new OssError('NotImplemented', { message: 'UnsupportedSubresource' })
  }
}

function notAllowed(): never {
  throw new OssError('MethodNotAllowed')
}

export function route(method: string, bucket: string | undefined, key: string | undefined, query: Query, headers: { has(name: string): boolean }): Operation {
  if (bucket === undefined) {
    if (method === 'GET' || method === 'HEAD') return { op: 'ListBuckets', bucket: undefined, key: undefined }
    return notAllowed()
  }
  unsupported(query)
  if (key === undefined) {
    const b = (op: BucketOpName): Operation => ({ op, bucket, key: undefined })
    switch (method) {
      case 'GET':
      case 'HEAD':
        if (query.has('acl')) return b('GetBucketAcl')
        if (query.has('bucketInfo')) return b('GetBucketInfo')
        if (query.has('location')) return b('GetBucketLocation')
        if (query.has('website')) return b('GetBucketWebsite')
        if (query.has('worm')) return b('GetBucketWorm')
        if (query.has('uploads')) return b('ListMultipartUploads')
        if (query.has('versions')) return b('ListObjectVersions')
        if (query.get('list-type') === '2') return b('ListObjectsV2')
        return b('ListObjects')
      case 'PUT':
        if (query.has('acl')) return b('PutBucketAcl')
        if (query.has('website')) return b('PutBucketWebsite')
        return b('PutBucket')
      case 'DELETE':
        if (query.has('website')) return b('DeleteBucketWebsite')
        if (query.has('worm')) return b('AbortBucketWorm')
        return b('DeleteBucket')
      case 'POST':
        if (query.has('delete')) return b('DeleteMultipleObjects')
        if (query.has('wormExtend')) return b('ExtendBucketWorm')
        if (query.has('wormId')) return b('CompleteBucketWorm')
        if (query.has('worm')) return b('InitiateBucketWorm')
        return notAllowed()
      default:
        return notAllowed()
    }
  }
  const o = (op: ObjectOpName): Operation => ({ op, bucket, key })
  const uploadId = query.has('uploadId')
  switch (method) {
    case 'GET':
      if (query.has('acl')) return o('GetObjectAcl')
      if (uploadId) return o('ListParts')
      return o('GetObject')
    case 'HEAD':
      if (query.has('objectMeta')) return o('GetObjectMeta')
      return o('HeadObject')
    case 'PUT':
      if (query.has('acl')) return o('PutObjectAcl')
      if (uploadId || query.has('partNumber')) return o(headers.has('x-oss-copy-source') ? 'UploadPartCopy' : 'UploadPart')
      return o(headers.has('x-oss-copy-source') ? 'CopyObject' : 'PutObject')
    case 'DELETE':
      if (uploadId) return o('AbortMultipartUpload')
      return o('DeleteObject')
    case 'POST':
      if (query.has('append')) return o('AppendObject')
      if (query.has('uploads')) return o('InitiateMultipartUpload')
      if (uploadId) return o('CompleteMultipartUpload')
      return notAllowed()
    default:
      return notAllowed()
  }
}

/** Parses a raw query: first value of a repeated name wins; `+` decodes as a space (form encoding). */
export function parseQuery(rawQuery: string): Map<string, string> {
  const out = new Map<string, string>()
  if (rawQuery === '') return out
  for (const part of rawQuery.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const name = decodeComponent(eq === -1 ? part : part.slice(0, eq))
    const value = eq === -1 ? '' : decodeComponent(part.slice(eq + 1))
    if (!out.has(name)) out.set(name, value)
  }
  return out
}

function decodeComponent(raw: string): string {
  const s = raw.includes('+') ? raw.replace(/\+/g, ' ') : raw
  if (!s.includes('%')) return s
  try {
    return decodeURIComponent(s)
  } catch {
    throw new OssError('InvalidArgument')
  }
}
