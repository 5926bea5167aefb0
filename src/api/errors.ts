/**
 * THE error table: every OSS error code Mirrorstore sends, with its HTTP status and message,
 * copied byte for byte from OSS's documentation (../shared/docs/oss-api.md §3, worm.md,
 * mirror-rules.md A5/B6). `OssCode` is a union, so a code without a row does not compile.
 */

import type { MirrorFailureReason } from '../mirror/failures.js'

export type { MirrorFailureReason }

export type OssCode =
  | 'AccessDenied'
  | 'InvalidAccessKeyId'
  | 'SignatureDoesNotMatch'
  | 'RequestTimeTooSkewed'
  | 'InvalidSecurityToken'
  | 'InvalidArgument'
  | 'InvalidBucketName'
  | 'InvalidObjectName'
  | 'NoSuchBucket'
  | 'NoSuchKey'
  | 'NoSuchUpload'
  | 'NoSuchWebsiteConfiguration'
  | 'BucketAlreadyExists'
  | 'BucketNotEmpty'
  | 'TooManyBuckets'
  | 'FileAlreadyExists'
  | 'FileImmutable'
  | 'PositionNotEqualToLength'
  | 'ObjectNotAppendable'
  | 'PreconditionFailed'
  | 'InvalidRange'
  | 'InvalidDigest'
  | 'IncompleteBody'
  | 'MissingContentLength'
  | 'RequestTimeout'
  | 'EntityTooLarge'
  | 'EntityTooSmall'
  | 'InvalidPart'
  | 'InvalidPartOrder'
  | 'MalformedXML'
  | 'UserKeyMustBeSpecified'
  | 'InvalidRequest'
  | 'NotImplemented'
  | 'MethodNotAllowed'
  | 'InternalError'
  | 'MirrorFailed'
  | 'WORMConfigurationAlreadyExists'
  | 'WORMConfigurationLocked'
  | 'NoSuchWORMConfiguration'
  | 'InvalidWORMConfiguration'

export interface OssErrorSpec {
  readonly status: number
  /** The default message; variants live in OSS_MESSAGES. */
  readonly message: string
}

export const OSS_ERRORS = {
  AccessDenied: { status: 403, message: 'AccessDenied' },
  InvalidAccessKeyId: { status: 403, message: 'The OSS Access Key Id you provided does not exist in our records.' },
  SignatureDoesNotMatch: {
    status: 403,
    message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  },
  RequestTimeTooSkewed: { status: 403, message: 'The difference between the request time and the current time is too large.' },
  InvalidSecurityToken: { status: 403, message: 'The security token you provided is invalid.' },
  InvalidArgument: { status: 400, message: 'Invalid Argument. Parameter is invalid.' },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  InvalidObjectName: { status: 400, message: 'The specified object is not valid.' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist.' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchUpload: {
    status: 404,
    message: 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  },
  NoSuchWebsiteConfiguration: { status: 404, message: 'The specified bucket does not have a website configuration.' },
  BucketAlreadyExists: { status: 409, message: 'The requested bucket name is not available.' },
  BucketNotEmpty: { status: 409, message: 'The bucket you tried to delete is not empty.' },
  TooManyBuckets: { status: 400, message: 'You have attempted to create more buckets than allowed.' },
  FileAlreadyExists: { status: 409, message: 'The object you specified already exists and can not be overwritten.' },
  FileImmutable: { status: 409, message: 'The object you specified is immutable.' },
  PositionNotEqualToLength: { status: 409, message: 'Position is not equal to file length.' },
  ObjectNotAppendable: { status: 409, message: 'The object is not appendable.' },
  PreconditionFailed: { status: 412, message: 'At least one of the pre-conditions you specified did not hold.' },
  InvalidRange: { status: 416, message: 'The requested range cannot be satisfied.' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 you specified was invalid.' },
  IncompleteBody: { status: 400, message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.' },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.' },
  RequestTimeout: {
    status: 400,
    message:
      'Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.',
  },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed size.' },
  EntityTooSmall: { status: 400, message: 'Your proposed upload smaller than the minimum allowed size.' },
  InvalidPart: {
    status: 400,
    message: "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
  },
  InvalidPartOrder: { status: 400, message: 'The list of parts was not in ascending order.' },
  MalformedXML: { status: 400, message: 'The XML you provided was not well-formed or did not validate against our published schema.' },
  UserKeyMustBeSpecified: { status: 400, message: 'User key must be specified.' },
  InvalidRequest: { status: 400, message: 'Request specific response headers cannot be used for anonymous GET requests.' },
  NotImplemented: { status: 400, message: 'A header you provided implies functionality that is not implemented.' },
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  MirrorFailed: { status: 424, message: 'Mirroring failed, please check your mirror configuration.' },
  WORMConfigurationAlreadyExists: { status: 409, message: 'The WORM Configuration already exists.' },
  WORMConfigurationLocked: { status: 403, message: 'The WORM Configuration is locked.' },
  NoSuchWORMConfiguration: { status: 404, message: 'The WORM Configuration does not exist.' },
  InvalidWORMConfiguration: { status: 400, message: 'Invalid WORM Configuration.' },
} as const satisfies Record<OssCode, OssErrorSpec>

/**
 * Alternative messages OSS sends under a code, also byte for byte. A thrown OssError names one of
 * these keys instead of carrying prose.
 */
export const OSS_MESSAGES = {
  AnonymousForbidden: { code: 'AccessDenied', message: 'Anonymous access is forbidden for this operation.' },
  RequestExpired: { code: 'AccessDenied', message: 'Request has expired.' },
  InvalidDate: { code: 'AccessDenied', message: 'OSS authentication requires a valid Date.' },
  QueryAuthMissing: {
    code: 'AccessDenied',
    message: 'Query-string authentication requires the Signature, Expires and OSSAccessKeyId parameters',
  },
  InvalidExpires: { code: 'AccessDenied', message: 'Invalid Expires.' },
  BucketAccessDenied: { code: 'AccessDenied', message: 'You have no right to access this object because of bucket acl.' },
  ObjectAccessDenied: { code: 'AccessDenied', message: 'You have no right to access this object.' },
  InvalidAuthHeader: { code: 'InvalidArgument', message: 'Authorization header is invalid.' },
  BothAuthForms: { code: 'InvalidArgument', message: 'Authorization header and query-string authentication cannot be used together.' },
  InvalidSigningRegion: { code: 'InvalidArgument', message: 'Invalid signing region in Authorization header.' },
  InvalidBucketAcl: { code: 'InvalidArgument', message: 'no such bucket access control exists' },
  InvalidStorageClass: { code: 'InvalidArgument', message: 'No such bucket storage class exists.' },
  CannotModifyStorageClass: { code: 'BucketAlreadyExists', message: "Cannot modify existing bucket's storage class." },
  ObjectNameTooLong: { code: 'InvalidObjectName', message: 'The Length of Object name must be less than 1024.' },
  ObjectNameEmpty: { code: 'InvalidObjectName', message: 'The Object name can not be empty.' },
  CopySourceInvalid: { code: 'InvalidArgument', message: 'Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.' },
  CopySourceTooLarge: { code: 'EntityTooLarge', message: 'Source object Length exceeds the maximum allowed size.' },
  PartNumberRange: { code: 'InvalidPartOrder', message: 'Part number must be an integer between 1 and 10000, inclusive.' },
  WormIdUnknown: { code: 'NoSuchWORMConfiguration', message: 'The specified WORM ID does not exist.' },
  UnsupportedSubresource: { code: 'NotImplemented', message: 'The specified sub-resource is not implemented.' },
} as const satisfies Record<string, { code: OssCode; message: string }>

export type OssMessageKey = keyof typeof OSS_MESSAGES

/** The eight MirrorFailed (424) messages, byte for byte (mirror-rules.md B6). */
export const MIRROR_FAILURE_MESSAGES = {
  config_failed: 'Mirroring failed, please check your mirror configuration.',
  read_body_failed: 'Read body from mirror host failed, please check your mirror host.',
  bytes_mismatch: 'Bytes read is not equal to expected.',
  md5_mismatch: 'MD5 in header() is not equal to MD5 calculated.',
  already_exists: 'The object you specified already exists and can not be overwritten.',
  immutable: 'The object you specified is immutable.',
  meta_too_large: 'Meta is too large.',
  qos_rejected: 'Mirror request is rejected by QoS.',
} as const satisfies Record<MirrorFailureReason, string>

/** Documented EC values (oss-api.md §3.1). */
export const OSS_EC = {
  NoSuchKey: '0026-00000001',
  NoSuchBucket: '0015-00000101',
  FileAlreadyExists: '0026-00000002',
  MetaTooLarge: '0011-00000002',
  SignatureV1: '0002-00000040',
  SignatureV4: '0002-00000201',
  SigningRegion: '0002-00000226',
  UrlExpired: '0002-00000069',
  QueryAuthMissing: '0002-00000068',
  InvalidExpires: '0002-00000070',
  AdditionalHeadersEmpty: '0002-00000209',
  AdditionalHeadersEmptyItem: '0002-00000210',
  AdditionalHeaderMissing: '0002-00000211',
  V4ExpiresMissing: '0002-00000215',
  V4ExpiresInvalid: '0002-00000232',
  V4NotYetValid: '0002-00000235',
  V4Expired: '0002-00000236',
  MirrorStatus: '0041-00000101',
  MirrorBadRange: '0041-00000103',
  MirrorUnreachable: '0041-00000104',
  MirrorDns: '0041-00000106',
  MirrorPrivate: '0041-00000108',
} as const
