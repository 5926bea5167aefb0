/**
 * The one request path: address → authenticate → route → authorise → handler; any throw → one OSS
 * error document. One closing log line per request.
 */
import { anonymousAllowed } from '../auth/acl.js'
import { verifyRequest } from '../auth/verify.js'
import type { AuthResult } from '../auth/types.js'
import { BadTarget, resolveAddress, type Resolution } from '../http/addressing.js'
import type { Bucket } from '../store/types.js'
import { dispatch } from './dispatch.js'
import type { RequestContext } from './context.js'
import { OSS_EC } from './errors.js'
import { OssError } from './oss-error.js'
import { PERMISSIONS, type Operation } from './operations.js'
import { sendError } from './respond.js'
import { route } from './router.js'
import { toOssError, authErrorReason } from './to-oss-error.js'
import { validateBucketName, validateObjectKey } from './names.js'

function authenticate(ctx: RequestContext, readings: readonly Resolution[]): { auth: AuthResult; reading: Resolution } {
  const { settings, credentials, now } = ctx.services
  let firstError: unknown
  for (const reading of readings) {
    try {
      const auth = verifyRequest(
        { method: ctx.method, bucket: reading.bucket, key: reading.key, rawQuery: ctx.rawQuery, headers: ctx.headers },
        credentials,
        { now: now(), region: settings.region },
      )
      return { auth, reading }
    } catch (err) {
      // Only a signature mismatch may mean "the other reading was meant" (ali-oss sldEnable).
      if (authErrorReason(err) !== 'SignatureMismatch') throw err
      firstError ??= err
    }
  }
  throw firstError
}

function authorize(ctx: RequestContext, op: Operation): Bucket | undefined {
  if (op.bucket === undefined) {
    if (ctx.auth.kind === 'anonymous') throw new OssError('AccessDenied', { message: 'AnonymousForbidden' })
    return undefined
  }
  const bucket = ctx.services.store.findBucket(op.bucket)
  if (ctx.auth.kind === 'signed') return bucket
  const permission = PERMISSIONS[op.op]
  if (permission === 'owner') {
    if (op.op === 'PutBucket' || bucket !== undefined) throw new OssError('AccessDenied', { message: 'AnonymousForbidden' })
  }
  if (bucket === undefined) {
    throw new OssError('NoSuchBucket', { ec: OSS_EC.NoSuchBucket, extras: [['BucketName', op.bucket]] })
  }
  let objectAcl
  if (op.key !== undefined) {
    const object = ctx.services.store.findObject(op.bucket, op.key)
    ctx.prefetched = { object }
    objectAcl = object?.acl
  }
  if (!anonymousAllowed(permission, bucket.acl, objectAcl)) {
    throw new OssError('AccessDenied', { message: op.key !== undefined ? 'ObjectAccessDenied' : 'BucketAccessDenied' })
  }
  return bucket
}

export async function handleRequest(ctx: RequestContext): Promise<void> {
  const started = process.hrtime.bigint()
  let opName = 'Unknown'
  try {
    if (ctx.badTarget === 'path') throw new OssError('InvalidObjectName')
    if (ctx.badTarget === 'query') throw new OssError('InvalidArgument')
    let readings: Resolution[]
    try {
      readings = resolveAddress(ctx.req.headers.host, ctx.rawPath, ctx.services.settings.domains)
    } catch (err) {
      if (err instanceof BadTarget) throw new OssError('InvalidObjectName')
      throw err
    }
    const { auth, reading } = authenticate(ctx, readings)
    ctx.auth = auth
    ctx.bucket = reading.bucket
    ctx.key = reading.key
    const op = route(ctx.method, reading.bucket, reading.key, ctx.query, ctx.headers)
    opName = op.op
    if (op.bucket !== undefined) validateBucketName(op.bucket)
    if (op.key !== undefined) validateObjectKey(op.key)
    const bucket = authorize(ctx, op)
    await dispatch(ctx, op, bucket)
  } catch (err) {
    let ossErr = toOssError(err)
    if (ossErr === undefined) {
      ctx.log.error({ err }, 'Request failed with an internal error')
      ossErr = new OssError('InternalError')
    }
    if (ctx.res.headersSent) {
      ctx.log.warn({ err }, 'Request failed after the response started')
      ctx.res.destroy()
    } else {
      sendError(ctx, ossErr)
    }
  } finally {
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    const status = ctx.res.statusCode
    ctx.services.metrics.requests.inc({ op: opName, status })
    const line = { op: opName, method: ctx.method, status, code: ctx.outcome.code, bytes: ctx.outcome.bytes, ms: Math.round(ms * 100) / 100 }
    const level = status >= 500 ? 'warn' : status >= 400 ? 'info' : 'debug'
    if (ctx.services.log.isLevelEnabled(level)) ctx.log[level](line, 'Request done')
  }
}
