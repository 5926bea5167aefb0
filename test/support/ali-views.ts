/**
 * Typed views of ali-oss 6.23 calls whose shipped typings disagree with what the library returns
 * (read from its lib/*.js). Only the fields the API tests read.
 */
import type OSS from 'ali-oss'

export interface AliBucketList {
  readonly buckets: Array<{ name: string; region: string; storageClass: string; creationDate: string }> | null
  readonly owner: { id: string; displayName: string }
  readonly isTruncated: boolean
  readonly nextMarker: string | null
}

export interface AliBucketInfo {
  readonly Name: string
  readonly Location: string
  readonly ExtranetEndpoint: string
  readonly IntranetEndpoint: string
  readonly StorageClass: string
  readonly DataRedundancyType?: string
  readonly CreationDate: string
  readonly Owner: { ID: string; DisplayName: string }
  readonly AccessControlList: { Grant: string }
}

export interface AliObjectEntry {
  readonly name: string
  readonly size: number
  readonly type: string
  readonly storageClass: string
  readonly etag: string
  readonly owner: { id: string; displayName: string } | null
}

export interface AliList {
  readonly objects: AliObjectEntry[] | undefined
  readonly prefixes: string[] | null
  readonly isTruncated: boolean
  readonly nextMarker?: string | null
  readonly nextContinuationToken?: string | null
  readonly keyCount?: number
}

export interface AliBucketApi {
  putBucket(name: string, options?: { acl?: string; storageClass?: string; timeout?: number }): Promise<{ bucket: string | null }>
  deleteBucket(name: string): Promise<unknown>
  listBuckets(query: Record<string, string | number>): Promise<AliBucketList>
  getBucketInfo(name: string): Promise<{ bucket: AliBucketInfo }>
  getBucketLocation(name: string): Promise<{ location: unknown }>
  putBucketACL(name: string, acl: string): Promise<{ bucket: string | null }>
  getBucketACL(name: string): Promise<{ acl: string; owner: { id: string; displayName: string } }>
  list(query: Record<string, string | number> | null, options?: object): Promise<AliList>
  listV2(query: Record<string, string | number | boolean>, options?: object): Promise<AliList>
  getBucketVersions(query: Record<string, string | number>, options?: object): Promise<{ objects: Array<{ name: string; versionId: string }>; deleteMarker: unknown[] }>
  deleteMulti(names: Array<string | { key: string; versionId?: string }>, options?: { quiet?: boolean }): Promise<{ deleted: Array<{ Key: string }> }>
  listUploads(query: Record<string, string | number>): Promise<{ uploads: Array<{ name: string; uploadId: string }> }>
  abortMultipartUpload(name: string, uploadId: string): Promise<unknown>
}

export function aliApi(client: OSS): AliBucketApi {
  return client as unknown as AliBucketApi
}
