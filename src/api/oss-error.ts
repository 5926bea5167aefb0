/** An OSS error decided in the api layer, naming a row of errors.ts (never free prose). */
import type { MirrorFailureReason, OssCode, OssMessageKey } from './errors.js'

export interface OssErrorOptions {
  /** A variant message from OSS_MESSAGES (its code must match). */
  readonly message?: OssMessageKey | undefined
  /** For MirrorFailed: which of the eight messages. */
  readonly mirrorReason?: MirrorFailureReason | undefined
  readonly ec?: string | undefined
  /** Extra elements after HostId, in order (BucketName, Key, Condition, ArgumentName, ...). */
  readonly extras?: ReadonlyArray<readonly [string, string]> | undefined
  /** Extra response headers (e.g. x-oss-next-append-position on PositionNotEqualToLength). */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

export class OssError extends Error {
  override readonly name = 'OssError'
  readonly code: OssCode
  readonly options: OssErrorOptions
  constructor(code: OssCode, options: OssErrorOptions = {}) {
    super(code)
    this.code = code
    this.options = options
  }
}
