/** Bucket and object name rules (oss-api.md §10). */
import { OssError } from './oss-error.js'

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/

export function validateBucketName(name: string): void {
  if (!BUCKET_NAME.test(name)) throw new OssError('InvalidBucketName', { extras: [['BucketName', name]] })
}

export function validateObjectKey(key: string): void {
  if (key.length === 0) throw new OssError('InvalidObjectName', { message: 'ObjectNameEmpty' })
  if (Buffer.byteLength(key, 'utf8') > 1023) throw new OssError('InvalidObjectName', { message: 'ObjectNameTooLong' })
  // Lone surrogates mean the path was not valid UTF-8; NUL is refused (oss-api.md §10).
  if (key.startsWith('/') || key.startsWith('\\') || key.includes('\0') || !key.isWellFormed()) {
    throw new OssError('InvalidObjectName')
  }
}
