/**
 * Typed mirror failures (mirror-rules.md B6). One MirrorFailure = one of the eight 424 messages,
 * plus an optional EC; api/to-oss-error.ts maps `reason` to the message table in api/errors.ts.
 * The reasons are defined here once; api/ (messages) and metrics/ (outcome labels) import them.
 */

/** The eight MirrorFailed (424) causes, in the order of B6; api/errors.ts holds their messages. */
export const MIRROR_FAILURE_REASONS = [
  'config_failed',
  'read_body_failed',
  'bytes_mismatch',
  'md5_mismatch',
  'already_exists',
  'immutable',
  'meta_too_large',
  'qos_rejected',
] as const

export type MirrorFailureReason = (typeof MIRROR_FAILURE_REASONS)[number]

/** The ECs an origin failure can carry (B6); values equal api/errors.ts OSS_EC.Mirror*. */
export const MIRROR_EC = {
  status: '0041-00000101',
  badRange: '0041-00000103',
  unreachable: '0041-00000104',
  dns: '0041-00000106',
  privateAddress: '0041-00000108',
} as const
export type MirrorEc = (typeof MIRROR_EC)[keyof typeof MIRROR_EC]

export interface MirrorFailureOptions {
  readonly ec?: MirrorEc
  readonly cause?: unknown
  /** Origin status behind the failure, when one was received. */
  readonly status?: number
}

export class MirrorFailure extends Error {
  override readonly name = 'MirrorFailure'
  readonly code = 'MirrorFailure'
  readonly reason: MirrorFailureReason
  readonly ec: MirrorEc | undefined
  readonly status: number | undefined
  /** `detail` is for logs only; the client sees the fixed message of `reason`. */
  constructor(reason: MirrorFailureReason, detail: string, options: MirrorFailureOptions = {}) {
    super(`${reason}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause })
    this.reason = reason
    this.ec = options.ec
    this.status = options.status
  }
}

export function isMirrorFailure(err: unknown, reason?: MirrorFailureReason): err is MirrorFailure {
  return err instanceof MirrorFailure && (reason === undefined || err.reason === reason)
}
