/** Operation → handler: an exhaustive switch, so an unhandled operation does not compile. */
import type { Bucket } from '../store/types.js'
import type { RequestContext } from './context.js'
import * as bucketOps from './handlers/bucket.js'
import * as list from './handlers/list.js'
import * as multipart from './handlers/multipart.js'
import * as object from './handlers/object.js'
import { listBuckets } from './handlers/service.js'
import * as website from './handlers/website.js'
import * as worm from './handlers/worm.js'
import type { Operation } from './operations.js'

/** `bucket` is the bucket row found while authorising (undefined if absent or not looked up). */
export async function dispatch(ctx: RequestContext, op: Operation, bucket: Bucket | undefined): Promise<void> {
  switch (op.op) {
    case 'ListBuckets':
      return listBuckets(ctx, op)
    case 'PutBucket':
      return bucketOps.putBucket(ctx, op, bucket)
    case 'DeleteBucket':
      return bucketOps.deleteBucket(ctx, op)
    case 'GetBucketInfo':
      return bucketOps.getBucketInfo(ctx, op, bucket)
    case 'GetBucketLocation':
      return bucketOps.getBucketLocation(ctx, op, bucket)
    case 'PutBucketAcl':
      return bucketOps.putBucketAcl(ctx, op, bucket)
    case 'GetBucketAcl':
      return bucketOps.getBucketAcl(ctx, op, bucket)
    case 'ListObjects':
      return list.listObjects(ctx, op, bucket)
    case 'ListObjectsV2':
      return list.listObjectsV2(ctx, op, bucket)
    case 'ListObjectVersions':
      return list.listObjectVersions(ctx, op, bucket)
    case 'DeleteMultipleObjects':
      return object.deleteMultipleObjects(ctx, op, bucket)
    case 'ListMultipartUploads':
      return multipart.listMultipartUploads(ctx, op, bucket)
    case 'PutBucketWebsite':
      return website.putBucketWebsite(ctx, op, bucket)
    case 'GetBucketWebsite':
      return website.getBucketWebsite(ctx, op, bucket)
    case 'DeleteBucketWebsite':
      return website.deleteBucketWebsite(ctx, op, bucket)
    case 'InitiateBucketWorm':
      return worm.initiateBucketWorm(ctx, op, bucket)
    case 'AbortBucketWorm':
      return worm.abortBucketWorm(ctx, op, bucket)
    case 'CompleteBucketWorm':
      return worm.completeBucketWorm(ctx, op, bucket)
    case 'ExtendBucketWorm':
      return worm.extendBucketWorm(ctx, op, bucket)
    case 'GetBucketWorm':
      return worm.getBucketWorm(ctx, op, bucket)
    case 'PutObject':
      return object.putObject(ctx, op, bucket)
    case 'CopyObject':
      return object.copyObject(ctx, op, bucket)
    case 'GetObject':
    case 'HeadObject':
      return object.getObject(ctx, op, bucket)
    case 'GetObjectMeta':
      return object.getObjectMeta(ctx, op, bucket)
    case 'DeleteObject':
      return object.deleteObject(ctx, op, bucket)
    case 'AppendObject':
      return object.appendObject(ctx, op, bucket)
    case 'PutObjectAcl':
      return object.putObjectAcl(ctx, op, bucket)
    case 'GetObjectAcl':
      return object.getObjectAcl(ctx, op, bucket)
    case 'InitiateMultipartUpload':
      return multipart.initiateMultipartUpload(ctx, op, bucket)
    case 'UploadPart':
      return multipart.uploadPart(ctx, op, bucket)
    case 'UploadPartCopy':
      return multipart.uploadPartCopy(ctx, op, bucket)
    case 'CompleteMultipartUpload':
      return multipart.completeMultipartUpload(ctx, op, bucket)
    case 'AbortMultipartUpload':
      return multipart.abortMultipartUpload(ctx, op, bucket)
    case 'ListParts':
      return multipart.listParts(ctx, op, bucket)
    default: {
      const never: never = op
      throw new Error(`Unhandled operation ${JSON.stringify(never)}`)
    }
  }
}
