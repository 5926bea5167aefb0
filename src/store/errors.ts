/**
 * Typed errors of the storage layer: named for the condition, carrying data, never prose meant
 * for a client. api/to-oss-error.ts turns each into one OSS error.
 */

export type StoreErrorCode =
  | 'BucketNotFound'
  | 'BucketExists'
  | 'BucketNotEmpty'
  | 'ObjectNotFound'
  | 'ObjectExists'
  | 'ObjectImmutable'
  | 'ObjectChanged'
  | 'PositionMismatch'
  | 'NotAppendable'
  | 'BodyTooLarge'
  | 'UploadNotFound'
  | 'InvalidPart'
  | 'InvalidPartOrder'
  | 'PartTooSmall'

export interface StoreErrorDetail {
  readonly bucket?: string
  readonly key?: string
  readonly currentSize?: number
  readonly partNumber?: number
}

export class StoreError extends Error {
  override readonly name = 'StoreError'
  readonly code: StoreErrorCode
  readonly detail: StoreErrorDetail
  constructor(code: StoreErrorCode, detail: StoreErrorDetail = {}) {
    super(`${code}${detail.bucket !== undefined ? ` bucket="${detail.bucket}"` : ''}${detail.key !== undefined ? ` key="${detail.key}"` : ''}`)
    this.code = code
    this.detail = detail
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code)
}
