/** ListObjects (v1), ListObjectsV2 and ListObjectVersions (unversioned: every VersionId is `null`). */
import type { ListEntry, ObjectRecord } from '../../store/types.js'
import type { Bucket } from '../../store/types.js'
import type { RequestContext } from '../context.js'
import { quoteEtag } from '../object-headers.js'
import { OssError } from '../oss-error.js'
import type { Op } from '../operations.js'
import { sendXml } from '../respond.js'
import { buildXml, type XmlNode } from '../xml/build.js'
import { encodingIsUrl, intParam, ownerNode, requireBucket, strParam, urlEncodeKey } from './common.js'

type Children = Array<readonly [string, XmlNode[number][1]]>

function entryNodes(ctx: RequestContext, entries: readonly ListEntry[], enc: (s: string) => string, withOwner: boolean): Children {
  const contents: Children = []
  const prefixes: Children = []
  for (const e of entries) {
    if (e.kind === 'prefix') {
      prefixes.push(['CommonPrefixes', [['Prefix', enc(e.prefix)]]])
      continue
    }
    contents.push(['Contents', objectNode(ctx, e.object, enc, withOwner)])
  }
  return [...contents, ...prefixes]
}

function objectNode(ctx: RequestContext, o: ObjectRecord, enc: (s: string) => string, withOwner: boolean): XmlNode {
  return [
    ['Key', enc(o.key)],
    ['LastModified', o.lastModified.toISOString()],
    ['ETag', quoteEtag(o.etag)],
    ['Type', o.type],
    ['Size', o.size],
    ['StorageClass', o.storageClass],
    ['Owner', withOwner ? ownerNode(ctx) : undefined],
  ]
}

function encoder(ctx: RequestContext): { url: boolean; enc: (s: string) => string } {
  const url = encodingIsUrl(ctx)
  return { url, enc: url ? urlEncodeKey : (s: string) => s }
}

/** The parameters every object listing shares. */
function listingParams(ctx: RequestContext): { prefix: string; delimiter: string; maxKeys: number } {
  return { prefix: strParam(ctx, 'prefix'), delimiter: strParam(ctx, 'delimiter'), maxKeys: intParam(ctx, 'max-keys', 100, 0, 1000) }
}

/** ListObjects: https://help.aliyun.com/document_detail/31965.html */
export function listObjects(ctx: RequestContext, op: Op<'ListObjects'>, found: Bucket | undefined): void {
  requireBucket(ctx, op.bucket, found)
  const { prefix, delimiter, maxKeys } = listingParams(ctx)
  const marker = strParam(ctx, 'marker')
  const result = ctx.services.store.listObjects(op.bucket, { prefix, delimiter, startAfter: marker, maxKeys })
  const { url, enc } = encoder(ctx)
  sendXml(
    ctx,
    200,
    buildXml('ListBucketResult', [
      ['Name', op.bucket],
      ['Prefix', enc(prefix)],
      ['Marker', enc(marker)],
      ['MaxKeys', maxKeys],
      ['Delimiter', enc(delimiter)],
      ['EncodingType', url ? 'url' : undefined],
      ['IsTruncated', result.truncated],
      ['NextMarker', result.truncated && result.nextMarker !== undefined ? enc(result.nextMarker) : undefined],
      ...entryNodes(ctx, result.entries, enc, true),
    ]),
  )
}

function encodeToken(marker: string): string {
  return Buffer.from(marker, 'utf8').toString('base64url')
}

function decodeToken(token: string): string {
  const marker = Buffer.from(token, 'base64url').toString('utf8')
  if (encodeToken(marker) !== token.replace(/=+$/, '')) {
    throw new OssError('InvalidArgument', { extras: [['ArgumentName', 'continuation-token'], ['ArgumentValue', token]] })
  }
  return marker
}

/** ListObjectsV2: https://help.aliyun.com/document_detail/187544.html */
export function listObjectsV2(ctx: RequestContext, op: Op<'ListObjectsV2'>, found: Bucket | undefined): void {
  requireBucket(ctx, op.bucket, found)
  const { prefix, delimiter, maxKeys } = listingParams(ctx)
  const startAfter = strParam(ctx, 'start-after')
  const token = ctx.query.get('continuation-token')
  const fetchOwner = ctx.query.get('fetch-owner') === 'true'
  const marker = token !== undefined && token !== '' ? decodeToken(token) : startAfter
  const result = ctx.services.store.listObjects(op.bucket, { prefix, delimiter, startAfter: marker, maxKeys })
  const { url, enc } = encoder(ctx)
  sendXml(
    ctx,
    200,
    buildXml('ListBucketResult', [
      ['Name', op.bucket],
      ['Prefix', enc(prefix)],
      ['StartAfter', ctx.query.has('start-after') ? enc(startAfter) : undefined],
      ['ContinuationToken', token],
      ['MaxKeys', maxKeys],
      ['Delimiter', delimiter !== '' ? enc(delimiter) : undefined],
      ['EncodingType', url ? 'url' : undefined],
      ['IsTruncated', result.truncated],
      ['NextContinuationToken', result.truncated && result.nextMarker !== undefined ? encodeToken(result.nextMarker) : undefined],
      ...entryNodes(ctx, result.entries, enc, fetchOwner),
      ['KeyCount', result.entries.length],
    ]),
  )
}

/** ListObjectVersions: https://help.aliyun.com/document_detail/282297.html (no versioning: one `null` version per key). */
export function listObjectVersions(ctx: RequestContext, op: Op<'ListObjectVersions'>, found: Bucket | undefined): void {
  requireBucket(ctx, op.bucket, found)
  const { prefix, delimiter, maxKeys } = listingParams(ctx)
  const keyMarker = strParam(ctx, 'key-marker')
  const versionIdMarker = ctx.query.get('version-id-marker') ?? ''
  // With one version per key, a version-id marker of `null` means "after that key" too.
  const result = ctx.services.store.listObjects(op.bucket, { prefix, delimiter, startAfter: keyMarker, maxKeys })
  const { url, enc } = encoder(ctx)
  const versions: Children = []
  const prefixes: Children = []
  for (const e of result.entries) {
    if (e.kind === 'prefix') {
      prefixes.push(['CommonPrefixes', [['Prefix', enc(e.prefix)]]])
      continue
    }
    const o = e.object
    versions.push([
      'Version',
      [
        ['Key', enc(o.key)],
        ['VersionId', 'null'],
        ['IsLatest', true],
        ['LastModified', o.lastModified.toISOString()],
        ['ETag', quoteEtag(o.etag)],
        ['Type', o.type],
        ['Size', o.size],
        ['StorageClass', o.storageClass],
        ['Owner', ownerNode(ctx)],
      ],
    ])
  }
  sendXml(
    ctx,
    200,
    buildXml('ListVersionsResult', [
      ['Name', op.bucket],
      ['Prefix', enc(prefix)],
      ['KeyMarker', enc(keyMarker)],
      ['VersionIdMarker', versionIdMarker],
      ['MaxKeys', maxKeys],
      ['Delimiter', enc(delimiter)],
      ['EncodingType', url ? 'url' : undefined],
      ['IsTruncated', result.truncated],
      ['NextKeyMarker', result.truncated && result.nextMarker !== undefined ? enc(result.nextMarker) : undefined],
      ['NextVersionIdMarker', result.truncated ? 'null' : undefined],
      ...versions,
      ...prefixes,
    ]),
  )
}
