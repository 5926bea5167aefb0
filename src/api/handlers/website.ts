/** Static-website configuration, the home of mirror rules: Put/Get/DeleteBucketWebsite (mirror-rules.md A1, B2). */
import { RulesError } from '../../mirror/rules.js'
import type { Bucket } from '../../store/types.js'
import { readXmlBody } from '../body.js'
import type { RequestContext } from '../context.js'
import { OssError } from '../oss-error.js'
import type { Op } from '../operations.js'
import { sendEmpty, sendXml } from '../respond.js'
import { readWebsite, rememberCompiled, WEBSITE_BODY_LIMIT } from '../xml/website.js'
import { requireBucket } from './common.js'

/** PutBucketWebsite: https://help.aliyun.com/document_detail/31962.html */
export async function putBucketWebsite(ctx: RequestContext, op: Op<'PutBucketWebsite'>, found: Bucket | undefined): Promise<void> {
  requireBucket(ctx, op.bucket, found)
  const text = await readXmlBody(ctx, WEBSITE_BODY_LIMIT)
  let doc
  try {
    doc = readWebsite(text)
  } catch (err) {
    // The detail says which check refused; the client gets only OSS's generic message.
    if (err instanceof RulesError) ctx.log.info({ kind: err.kind, detail: err.detail }, 'Website configuration refused')
    throw err
  }
  ctx.services.store.updateBucket(op.bucket, { website: doc.xml })
  rememberCompiled(doc)
  sendEmpty(ctx, 200)
}

/** GetBucketWebsite: https://help.aliyun.com/document_detail/31963.html */
export function getBucketWebsite(ctx: RequestContext, op: Op<'GetBucketWebsite'>, found: Bucket | undefined): void {
  const bucket = requireBucket(ctx, op.bucket, found)
  if (bucket.website === undefined) throw new OssError('NoSuchWebsiteConfiguration', { extras: [['BucketName', op.bucket]] })
  sendXml(ctx, 200, bucket.website)
}

/** DeleteBucketWebsite (idempotent): https://help.aliyun.com/document_detail/31964.html */
export function deleteBucketWebsite(ctx: RequestContext, op: Op<'DeleteBucketWebsite'>, found: Bucket | undefined): void {
  requireBucket(ctx, op.bucket, found)
  ctx.services.store.updateBucket(op.bucket, { website: null })
  sendEmpty(ctx, 204)
}
