/**
 * Typed errors of request authentication: named for the condition, carrying data, never prose for
 * a client. api/to-oss-error.ts turns each reason into one OSS error; the mapping intended for
 * each is stated on the reason (signatures.md §1, §3, §4; messages and EC in api/errors.ts).
 */

import type { AuthScheme } from './types.js'

export type AuthErrorReason =
  /** 400 InvalidArgument `Authorization header is invalid.` Malformed Authorization, an unsupported scheme, malformed V4 Credential or AdditionalHeaders (see `problem`). */
  | 'InvalidAuthHeader'
  /** 400 InvalidArgument `Authorization header and query-string authentication cannot be used together.` */
  | 'BothAuthForms'
  /** 403 AccessDenied `OSS authentication requires a valid Date.` V1 Date/x-oss-date, V4 x-oss-date missing or malformed. */
  | 'InvalidDate'
  /** 403 RequestTimeTooSkewed. Header auth, request time more than 15 minutes from server time. */
  | 'TimeSkewed'
  /** 403 InvalidAccessKeyId, with `<OSSAccessKeyId>`. */
  | 'UnknownAccessKey'
  /** 403 SignatureDoesNotMatch with diagnostics; EC 0002-00000040 (V1, V1Query) / 0002-00000201 (V4, V4Query). */
  | 'SignatureMismatch'
  /** 403 AccessDenied `Query-string authentication requires the Signature, Expires and OSSAccessKeyId parameters`, EC 0002-00000068. */
  | 'QueryAuthMissing'
  /** 403 AccessDenied `Invalid Expires.`, EC 0002-00000070. V1 `Expires` not an integer. */
  | 'InvalidExpires'
  /** 403 AccessDenied `Request has expired.`, EC 0002-00000069. V1 presigned URL past `Expires`. */
  | 'Expired'
  /** 400 InvalidArgument `Invalid signing region in Authorization header.`, EC 0002-00000226. */
  | 'InvalidSigningRegion'
  /** 403 InvalidSecurityToken `The security token you provided is invalid.` (no STS support). */
  | 'SecurityTokenUnsupported'
  /** 403 AccessDenied (message `AccessDenied`, no known EC; unconfirmed). V4 presigned URL missing or malformed x-oss-credential, x-oss-date or x-oss-signature. */
  | 'V4QueryIncomplete'
  /** 403 AccessDenied, EC 0002-00000215 (code unconfirmed). V4 presigned URL without x-oss-expires. */
  | 'V4ExpiresMissing'
  /** 403 AccessDenied, EC 0002-00000232 (unconfirmed). V4 x-oss-expires not an integer in 1..604800. */
  | 'V4ExpiresInvalid'
  /** 403 AccessDenied, EC 0002-00000235 (code unconfirmed). V4 presigned URL used more than 15 minutes before its x-oss-date. */
  | 'V4NotYetValid'
  /** 403 AccessDenied `Request has expired.`, EC 0002-00000236 (unconfirmed). V4 presigned URL past x-oss-date + x-oss-expires. */
  | 'V4Expired'

/** Which part of a malformed V4 Authorization (or presigned AdditionalHeaders) was wrong; lets the server pick an EC. */
export type AuthHeaderProblem =
  | 'malformed'
  | 'unsupported-scheme'
  /** `AdditionalHeaders=` with no names, EC 0002-00000209. */
  | 'additional-headers-empty'
  /** An empty item such as `host;`, EC 0002-00000210. */
  | 'additional-headers-empty-item'
  /** A listed header absent from the request, EC 0002-00000211. */
  | 'additional-header-missing'

export interface AuthErrorDetail {
  readonly scheme?: AuthScheme
  readonly accessKeyId?: string
  readonly problem?: AuthHeaderProblem
  /** SignatureMismatch: the signature as the client sent it. */
  readonly signatureProvided?: string
  /** SignatureMismatch: our StringToSign, bytes decoded as UTF-8. */
  readonly stringToSign?: string
  /** SignatureMismatch: the exact bytes HMACed (header values as received, latin1). */
  readonly stringToSignBytes?: Uint8Array
  /** SignatureMismatch, V4 only: our CanonicalRequest. */
  readonly canonicalRequest?: string
}

export class AuthError extends Error {
  override readonly name = 'AuthError'
  readonly reason: AuthErrorReason
  readonly scheme: AuthScheme | undefined
  readonly accessKeyId: string | undefined
  readonly problem: AuthHeaderProblem | undefined
  readonly signatureProvided: string | undefined
  readonly stringToSign: string | undefined
  readonly stringToSignBytes: Uint8Array | undefined
  readonly canonicalRequest: string | undefined

  constructor(reason: AuthErrorReason, detail: AuthErrorDetail = {}) {
    // Never the signature, StringToSign or secret: messages reach logs.
    super(`Authentication failed: ${reason}${detail.scheme !== undefined ? ` scheme=${detail.scheme}` : ''}${detail.problem !== undefined ? ` problem=${detail.problem}` : ''}`)
    this.reason = reason
    this.scheme = detail.scheme
    this.accessKeyId = detail.accessKeyId
    this.problem = detail.problem
    this.signatureProvided = detail.signatureProvided
    this.stringToSign = detail.stringToSign
    this.stringToSignBytes = detail.stringToSignBytes
    this.canonicalRequest = detail.canonicalRequest
  }
}

export function isAuthError(err: unknown, reason?: AuthErrorReason): err is AuthError {
  return err instanceof AuthError && (reason === undefined || err.reason === reason)
}
