/**
 * Any thrown value → one OSS error. The only place that turns internal conditions into wire codes;
 * an unknown error becomes InternalError (logged by the caller with the request id, never echoed).
 */
import { AuthError, type AuthErrorReason } from '../auth/errors.js'
import { BadTarget } from '../http/addressing.js'
import { MirrorFailure } from '../mirror/failures.js'
import { RulesError } from '../mirror/rules.js'
import { StoreError } from '../store/errors.js'
import { OSS_EC } from './errors.js'
import { OssError } from './oss-error.js'

export function fromStoreError(err: StoreError): OssError {
  const d = err.detail
  switch (err.code) {
    case 'BucketNotFound':
      return new OssError('NoSuchBucket', { ec: OSS_EC.NoSuchBucket, extras: d.bucket !== undefined ? [['BucketName', d.bucket]] : [] })
    case 'BucketExists':
      return new OssError('BucketAlreadyExists')
    case 'BucketNotEmpty':
      return new OssError('BucketNotEmpty', { extras: d.bucket !== undefined ? [['BucketName', d.bucket]] : [] })
    case 'ObjectNotFound':
      return new OssError('NoSuchKey', { ec: OSS_EC.NoSuchKey, extras: d.key !== undefined ? [['Key', d.key]] : [] })
    case 'ObjectExists':
      return new OssError('FileAlreadyExists', { ec: OSS_EC.FileAlreadyExists })
    case 'ObjectImmutable':
      return new OssError('FileImmutable')
    case 'ObjectChanged':
      // The source of a copy was replaced while we read it: the client may retry.
      return new OssError('PreconditionFailed')
    case 'PositionMismatch':
      return new OssError('PositionNotEqualToLength', { headers: { 'x-oss-next-append-position': String(d.currentSize ?? 0) } })
    case 'NotAppendable':
      return new OssError('ObjectNotAppendable')
    case 'BodyTooLarge':
      return new OssError('InvalidArgument')
    case 'UploadNotFound':
      return new OssError('NoSuchUpload')
    case 'InvalidPart':
      return new OssError('InvalidPart')
    case 'InvalidPartOrder':
      return new OssError('InvalidPartOrder')
    case 'PartTooSmall':
      return new OssError('EntityTooSmall')
  }
}

/** StringToSignBytes as OSS shows them: space-separated uppercase hex. */
function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ')
}

export function fromAuthError(err: AuthError): OssError {
  switch (err.reason) {
    case 'InvalidAuthHeader': {
      const ec =
        err.problem === 'additional-headers-empty'
          ? OSS_EC.AdditionalHeadersEmpty
          : err.problem === 'additional-headers-empty-item'
            ? OSS_EC.AdditionalHeadersEmptyItem
            : err.problem === 'additional-header-missing'
              ? OSS_EC.AdditionalHeaderMissing
              : undefined
      return new OssError('InvalidArgument', { message: 'InvalidAuthHeader', ec })
    }
    case 'BothAuthForms':
      return new OssError('InvalidArgument', { message: 'BothAuthForms' })
    case 'InvalidDate':
      return new OssError('AccessDenied', { message: 'InvalidDate' })
    case 'TimeSkewed':
      return new OssError('RequestTimeTooSkewed')
    case 'UnknownAccessKey':
      return new OssError('InvalidAccessKeyId', { extras: [['OSSAccessKeyId', err.accessKeyId ?? '']] })
    case 'SignatureMismatch': {
      const v4 = err.scheme === 'V4' || err.scheme === 'V4Query'
      const extras: Array<readonly [string, string]> = [
        ['OSSAccessKeyId', err.accessKeyId ?? ''],
        ['SignatureProvided', err.signatureProvided ?? ''],
        ['StringToSign', err.stringToSign ?? ''],
        ['StringToSignBytes', hexBytes(err.stringToSignBytes ?? new Uint8Array())],
      ]
      if (v4 && err.canonicalRequest !== undefined) extras.push(['CanonicalRequest', err.canonicalRequest])
      return new OssError('SignatureDoesNotMatch', { ec: v4 ? OSS_EC.SignatureV4 : OSS_EC.SignatureV1, extras })
    }
    case 'QueryAuthMissing':
      return new OssError('AccessDenied', { message: 'QueryAuthMissing', ec: OSS_EC.QueryAuthMissing })
    case 'InvalidExpires':
      return new OssError('AccessDenied', { message: 'InvalidExpires', ec: OSS_EC.InvalidExpires })
    case 'Expired':
      return new OssError('AccessDenied', { message: 'RequestExpired', ec: OSS_EC.UrlExpired })
    case 'InvalidSigningRegion':
      return new OssError('InvalidArgument', { message: 'InvalidSigningRegion', ec: OSS_EC.SigningRegion })
    case 'SecurityTokenUnsupported':
      return new OssError('InvalidSecurityToken')
    case 'V4QueryIncomplete':
      return new OssError('AccessDenied')
    case 'V4ExpiresMissing':
      return new OssError('AccessDenied', { ec: OSS_EC.V4ExpiresMissing })
    case 'V4ExpiresInvalid':
      return new OssError('AccessDenied', { ec: OSS_EC.V4ExpiresInvalid })
    case 'V4NotYetValid':
      return new OssError('AccessDenied', { ec: OSS_EC.V4NotYetValid })
    case 'V4Expired':
      return new OssError('AccessDenied', { message: 'RequestExpired', ec: OSS_EC.V4Expired })
  }
}

export function authErrorReason(err: unknown): AuthErrorReason | undefined {
  return err instanceof AuthError ? err.reason : undefined
}

export function toOssError(err: unknown): OssError | undefined {
  if (err instanceof OssError) return err
  if (err instanceof StoreError) return fromStoreError(err)
  if (err instanceof AuthError) return fromAuthError(err)
  if (err instanceof MirrorFailure) return new OssError('MirrorFailed', { mirrorReason: err.reason, ec: err.ec })
  if (err instanceof BadTarget) return new OssError('InvalidObjectName')
  if (err instanceof RulesError) return new OssError(err.kind === 'malformed' ? 'MalformedXML' : 'InvalidArgument')
  return undefined
}
