/** Bucket operations: PutBucket, DeleteBucket, GetBucketInfo, GetBucketLocation, Put/GetBucketAcl. */
import { isStoreError } from '../../store/errors.js'
import type { Bucket, BucketAcl, Redundancy, StorageClass } from '../../store/types.js'
import { readXmlBody } from '../body.js'
import { header, type RequestContext } from '../context.js'
import { OssError } from '../oss-error.js'
import type { Op } from '../operations.js'
import { sendEmpty, sendXml } from '../respond.js'
import { buildXml, buildXmlText } from '../xml/build.js'
import { childText, parseXml } from '../xml/parse.js'
import { ownerNode, requireBucket } from './common.js'
import { STORAGE_CLASSES } from '../object-headers.js'

const BUCKET_ACLS: readonly BucketAcl[] = ['private', 'public-read', 'public-read-write']
const CONFIG_LIMIT = 64 * 1024

function parseBucketAcl(value: string | undefined): BucketAcl | undefined {
  if (value === undefined) return undefined
  if (!(BUCKET_ACLS as readonly string[]).includes(value)) {
    throw new OssError('InvalidArgument', { message: 'InvalidBucketAcl', extras: [['ArgumentName', 'x-oss-acl'], ['ArgumentValue', value]] })
  }
  return value as BucketAcl
}

async function readCreateConfiguration(ctx: RequestContext): Promise<{ storageClass: StorageClass; redundancy: Redundancy }> {
  const text = await readXmlBody(ctx, CONFIG_LIMIT)
  if (text.trim() === '') return { storageClass: 'Standard', redundancy: 'LRS' }
  const doc = parseXml(text, 'CreateBucketConfiguration', new Set())
  const classRaw = childText(doc, 'StorageClass')
  let storageClass: StorageClass = 'Standard'
  if (classRaw !== undefined && classRaw !== '') {
    const found = STORAGE_CLASSES.find((c) => c.toLowerCase() === classRaw.toLowerCase())
    if (found === undefined) throw new OssError('InvalidArgument', { message: 'InvalidStorageClass' })
    storageClass = found
  }
  const redRaw = childText(doc, 'DataRedundancyType')
  let redundancy: Redundancy = 'LRS'
  if (redRaw !== undefined && redRaw !== '') {
    if (redRaw !== 'LRS' && redRaw !== 'ZRS') throw new OssError('InvalidArgument', { extras: [['ArgumentName', 'DataRedundancyType'], ['ArgumentValue', redRaw]] })
    redundancy = redRaw
  }
  return { storageClass, redundancy }
}

/** PutBucket: https://help.aliyun.com/document_detail/31959.html */
export async function putBucket(ctx: RequestContext, op: Op<'PutBucket'>, existing: Bucket | undefined): Promise<void> {
  const acl = parseBucketAcl(header(ctx, 'x-oss-acl'))
  const config = await readCreateConfiguration(ctx)
  if (existing !== undefined) {
    // Deviation from OSS (unconfirmed): re-creating an owned bucket with the same class succeeds.
    if (existing.storageClass !== config.storageClass || existing.redundancy !== config.redundancy) {
      throw new OssError('BucketAlreadyExists', { message: 'CannotModifyStorageClass' })
    }
    sendEmpty(ctx, 200, { location: `/${op.bucket}` })
    return
  }
  try {
    ctx.services.store.createBucket({ name: op.bucket, acl: acl ?? 'private', ...config })
  } catch (err) {
    if (!isStoreError(err, 'BucketExists')) throw err
  }
  sendEmpty(ctx, 200, { location: `/${op.bucket}` })
}

/** DeleteBucket: https://help.aliyun.com/document_detail/31973.html */
export function deleteBucket(ctx: RequestContext, op: Op<'DeleteBucket'>): void {
  ctx.services.store.deleteBucket(op.bucket)
  sendEmpty(ctx, 204)
}

function aclNode(ctx: RequestContext, grant: string): ReturnType<typeof buildXml> {
  return buildXml('AccessControlPolicy', [
    ['Owner', ownerNode(ctx)],
    ['AccessControlList', [['Grant', grant]]],
  ])
}

/** GetBucketInfo: https://help.aliyun.com/document_detail/31968.html */
export function getBucketInfo(ctx: RequestContext, op: Op<'GetBucketInfo'>, found: Bucket | undefined): void {
  const b = requireBucket(ctx, op.bucket, found)
  const location = `oss-${ctx.services.settings.region}`
  sendXml(
    ctx,
    200,
    buildXml('BucketInfo', [
      [
        'Bucket',
        [
          ['CreationDate', b.createdAt.toISOString()],
          ['ExtranetEndpoint', `${location}.aliyuncs.com`],
          ['IntranetEndpoint', `${location}-internal.aliyuncs.com`],
          ['Location', location],
          ['StorageClass', b.storageClass],
          ['DataRedundancyType', b.redundancy],
          ['TransferAcceleration', 'Disabled'],
          ['CrossRegionReplication', 'Disabled'],
          ['Name', b.name],
          ['Owner', [['DisplayName', ctx.services.settings.ownerId], ['ID', ctx.services.settings.ownerId]]],
          ['AccessControlList', [['Grant', b.acl]]],
        ],
      ],
    ]),
  )
}

/** GetBucketLocation: https://help.aliyun.com/document_detail/31967.html */
export function getBucketLocation(ctx: RequestContext, op: Op<'GetBucketLocation'>, found: Bucket | undefined): void {
  requireBucket(ctx, op.bucket, found)
  sendXml(ctx, 200, buildXmlText('LocationConstraint', `oss-${ctx.services.settings.region}`))
}

/** PutBucketAcl (creates the bucket when missing, as OSS does): https://help.aliyun.com/document_detail/31960.html */
export function putBucketAcl(ctx: RequestContext, op: Op<'PutBucketAcl'>, found: Bucket | undefined): void {
  const acl = parseBucketAcl(header(ctx, 'x-oss-acl'))
  if (found === undefined) {
    try {
      ctx.services.store.createBucket({ name: op.bucket, acl: acl ?? 'private', storageClass: 'Standard', redundancy: 'LRS' })
    } catch (err) {
      if (!isStoreError(err, 'BucketExists')) throw err
      if (acl !== undefined) ctx.services.store.updateBucket(op.bucket, { acl })
    }
  } else if (acl !== undefined) {
    ctx.services.store.updateBucket(op.bucket, { acl })
  }
  sendEmpty(ctx, 200, { location: `/${op.bucket}` })
}

/** GetBucketAcl: https://help.aliyun.com/document_detail/31966.html */
export function getBucketAcl(ctx: RequestContext, op: Op<'GetBucketAcl'>, found: Bucket | undefined): void {
  const b = requireBucket(ctx, op.bucket, found)
  sendXml(ctx, 200, aclNode(ctx, b.acl))
}

export { aclNode }
