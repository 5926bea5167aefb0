/** Who may do what: the account owner everything; anonymous callers what the ACLs open. Pure. */
import type { BucketAcl, ObjectAcl } from '../store/types.js'

export type Permission = 'owner' | 'bucket-read' | 'bucket-write' | 'object-read' | 'object-write'

/** The ACL that governs an object: its own unless `default`, else the bucket's. */
export function effectiveObjectAcl(bucketAcl: BucketAcl, objectAcl: ObjectAcl | undefined): BucketAcl {
  return objectAcl === undefined || objectAcl === 'default' ? bucketAcl : objectAcl
}

/** Whether an anonymous caller holds `permission`. */
export function anonymousAllowed(permission: Permission, bucketAcl: BucketAcl, objectAcl: ObjectAcl | undefined): boolean {
  switch (permission) {
    case 'owner':
      return false
    case 'bucket-read':
      return bucketAcl !== 'private'
    case 'bucket-write':
      return bucketAcl === 'public-read-write'
    case 'object-read':
      return effectiveObjectAcl(bucketAcl, objectAcl) !== 'private'
    case 'object-write':
      return effectiveObjectAcl(bucketAcl, objectAcl) === 'public-read-write'
  }
}
