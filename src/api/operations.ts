/**
 * Every operation Mirrorstore answers, named verbatim after OSS's actions, with the permission it
 * needs. The router yields exactly one of these; dispatch is an exhaustive switch.
 */

export type ServiceOpName = 'ListBuckets'

export type BucketOpName =
  | 'PutBucket'
  | 'DeleteBucket'
  | 'GetBucketInfo'
  | 'GetBucketLocation'
  | 'PutBucketAcl'
  | 'GetBucketAcl'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'ListObjectVersions'
  | 'DeleteMultipleObjects'
  | 'ListMultipartUploads'
  | 'PutBucketWebsite'
  | 'GetBucketWebsite'
  | 'DeleteBucketWebsite'
  | 'InitiateBucketWorm'
  | 'AbortBucketWorm'
  | 'CompleteBucketWorm'
  | 'ExtendBucketWorm'
  | 'GetBucketWorm'

export type ObjectOpName =
  | 'PutObject'
  | 'CopyObject'
  | 'GetObject'
  | 'HeadObject'
  | 'GetObjectMeta'
  | 'DeleteObject'
  | 'AppendObject'
  | 'PutObjectAcl'
  | 'GetObjectAcl'
  | 'InitiateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'

export type OpName = ServiceOpName | BucketOpName | ObjectOpName

// Distributed over each name, so `switch (op.op)` narrows to one variant.
type ServiceOp<N> = N extends ServiceOpName ? { readonly op: N; readonly bucket: undefined; readonly key: undefined } : never
type BucketOp<N> = N extends BucketOpName ? { readonly op: N; readonly bucket: string; readonly key: undefined } : never
type ObjectOp<N> = N extends ObjectOpName ? { readonly op: N; readonly bucket: string; readonly key: string } : never

export type Operation = ServiceOp<ServiceOpName> | BucketOp<BucketOpName> | ObjectOp<ObjectOpName>

export type Op<N extends OpName> = Extract<Operation, { op: N }>

export type { Permission } from '../auth/acl.js'
import type { Permission } from '../auth/acl.js'

export const PERMISSIONS: Record<OpName, Permission> = {
  ListBuckets: 'owner',
  PutBucket: 'owner',
  DeleteBucket: 'owner',
  GetBucketInfo: 'owner',
  GetBucketLocation: 'owner',
  PutBucketAcl: 'owner',
  GetBucketAcl: 'owner',
  ListObjects: 'bucket-read',
  ListObjectsV2: 'bucket-read',
  ListObjectVersions: 'bucket-read',
  DeleteMultipleObjects: 'bucket-write',
  ListMultipartUploads: 'bucket-read',
  PutBucketWebsite: 'owner',
  GetBucketWebsite: 'owner',
  DeleteBucketWebsite: 'owner',
  InitiateBucketWorm: 'owner',
  AbortBucketWorm: 'owner',
  CompleteBucketWorm: 'owner',
  ExtendBucketWorm: 'owner',
  GetBucketWorm: 'owner',
  PutObject: 'object-write',
  CopyObject: 'object-write',
  GetObject: 'object-read',
  HeadObject: 'object-read',
  GetObjectMeta: 'object-read',
  DeleteObject: 'object-write',
  AppendObject: 'object-write',
  PutObjectAcl: 'owner',
  GetObjectAcl: 'owner',
  InitiateMultipartUpload: 'object-write',
  UploadPart: 'object-write',
  UploadPartCopy: 'object-write',
  CompleteMultipartUpload: 'object-write',
  AbortMultipartUpload: 'object-write',
  ListParts: 'object-write',
}
