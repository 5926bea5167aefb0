/**
 * One verifier for every route (signatures.md §1): picks the scheme from the Authorization prefix
 * or the query keys, checks time before the signature (as OSS does), and compares in constant
 * time. Where a client's canonical form is not visible on the wire (`+` in the query, empty
 * values, ali-oss sort order), a few alternative forms are tried after the primary one fails.
 */

import {
  decodeQuery,
  firstParam,
  hasParam,
  headerValue,
  safeEqual,
  splitQuery,
  type PlusMode,
  type RawParam,
} from './canonical.js'
import { AuthError } from './errors.js'
import { MAX_SKEW_MS, parseIsoBasic, parseRfc1123 } from './time.js'
import type { AuthRequest, AuthResult, AuthScheme, CredentialStore, VerifyOptions } from './types.js'
import { v1CanonicalResource, v1Signature, v1StringToSign, v1Subresources, type EmptyForm } from './v1.js'
import {
  V4_ALGORITHM,
  bareRegion,
  parseAdditionalHeaders,
  parseCredential,
  parseV4Authorization,
  v4CanonicalQuery,
  v4CanonicalRequest,
  v4Scope,
  v4Signature,
  v4SigningKey,
  v4StringToSign,
  type V4Credential,
  type V4QueryForm,
} from './v4.js'

/** Longest V4 presigned URL lifetime, in seconds. */
export const V4_MAX_EXPIRES = 604800

const V1_QUERY_KEYS = ['OSSAccessKeyId', 'Signature'] as const
const V4_QUERY_KEYS = ['x-oss-signature-version', 'x-oss-credential', 'x-oss-signature'] as const

/**
 * Authenticates a request. Returns `anonymous` when it carries no credentials (the ACL decides),
 * `signed` when a signature verifies; throws AuthError otherwise.
 */
export function verifyRequest(req: AuthRequest, creds: CredentialStore, options: VerifyOptions): AuthResult {
  const params = splitQuery(req.rawQuery)
  const authValues = req.headers.get('authorization')
  const v1Query = V1_QUERY_KEYS.some((k) => hasParam(params, k))
  const v4Query = V4_QUERY_KEYS.some((k) => hasParam(params, k))

  if (authValues !== undefined) {
    if (v1Query || v4Query) throw new AuthError('BothAuthForms')
    if (authValues.length !== 1) throw new AuthError('InvalidAuthHeader', { problem: 'malformed' })
    const value = (authValues[0] as string).trim()
    if (value.startsWith(`${V4_ALGORITHM} `) || value.startsWith(`${V4_ALGORITHM}\t`)) return verifyV4Header(req, params, value, creds, options)
    if (value.startsWith('OSS ')) return verifyV1Header(req, params, value, creds, options)
    throw new AuthError('InvalidAuthHeader', { problem: 'unsupported-scheme' })
  }
  if (v4Query) return verifyV4Query(req, params, creds, options)
  if (v1Query) return verifyV1Query(req, params, creds, options)
  return { kind: 'anonymous' }
}

// ── shared steps ──

function rejectSecurityToken(req: AuthRequest, params: readonly RawParam[], queryName: string | undefined, scheme: AuthScheme): void {
  if (req.headers.has('x-oss-security-token') || (queryName !== undefined && hasParam(params, queryName))) {
    throw new AuthError('SecurityTokenUnsupported', { scheme })
  }
}

function secretFor(creds: CredentialStore, accessKeyId: string, scheme: AuthScheme): string {
  const secret = creds.secretFor(accessKeyId)
  if (secret === undefined) throw new AuthError('UnknownAccessKey', { scheme, accessKeyId })
  return secret
}

function within(now: Date, t: Date): boolean {
  return Math.abs(now.getTime() - t.getTime()) <= MAX_SKEW_MS
}

/** Which `+` decodings are worth trying: the scheme's primary one, and the other only if the query has a raw `+`. */
function plusModes(rawQuery: string, primary: PlusMode): PlusMode[] {
  if (!rawQuery.includes('+')) return [primary]
  return [primary, primary === 'literal' ? 'space' : 'literal']
}

// ── V1 ──

const V1_SIGNATURE = /^[A-Za-z0-9+/]{27}=$/

interface V1Attempt {
  readonly bytes: Buffer
  readonly digest: Buffer
}

/**
 * Tries each (date slot, `+` decoding, empty form) combination, primary first; returns undefined
 * on success, else the primary attempt's StringToSign for diagnostics.
 */
function checkV1(
  req: AuthRequest,
  params: readonly RawParam[],
  dates: readonly string[],
  secret: string,
  provided: string,
  exclude: ReadonlySet<string>,
): Buffer | undefined {
  const providedBytes = V1_SIGNATURE.test(provided) ? Buffer.from(provided, 'base64') : undefined
  const contentMd5 = headerValue(req.headers, 'content-md5') ?? ''
  const contentType = headerValue(req.headers, 'content-type') ?? ''
  const tried = new Set<string>()
  let first: V1Attempt | undefined
  for (const date of dates) {
    for (const plus of plusModes(req.rawQuery, 'literal')) {
      const subresources = v1Subresources(decodeQuery(params, plus).filter((p) => !exclude.has(p.key)))
      const forms: EmptyForm[] = subresources.some(([, v]) => v === undefined) ? ['bare', 'equals'] : ['bare']
      for (const empty of forms) {
        const resource = v1CanonicalResource(req.bucket, req.key, subresources, empty)
        const bytes = v1StringToSign({ method: req.method, contentMd5, contentType, date, headers: req.headers, resource })
        const id = bytes.toString('latin1')
        if (tried.has(id)) continue
        tried.add(id)
        const digest = Buffer.from(v1Signature(secret, bytes), 'base64')
        first ??= { bytes, digest }
        if (providedBytes !== undefined && safeEqual(providedBytes, digest)) return undefined
      }
    }
  }
  return (first as V1Attempt).bytes
}

function v1Mismatch(scheme: AuthScheme, accessKeyId: string, provided: string, bytes: Buffer): AuthError {
  return new AuthError('SignatureMismatch', {
    scheme,
    accessKeyId,
    signatureProvided: provided,
    stringToSign: bytes.toString('utf8'),
    stringToSignBytes: bytes,
  })
}

function verifyV1Header(req: AuthRequest, params: readonly RawParam[], value: string, creds: CredentialStore, options: VerifyOptions): AuthResult {
  const scheme = 'V1'
  const credential = value.slice(4).trim()
  const colon = credential.lastIndexOf(':')
  const accessKeyId = colon > 0 ? credential.slice(0, colon) : ''
  const provided = colon > 0 ? credential.slice(colon + 1) : ''
  if (accessKeyId === '' || provided === '' || /\s/.test(accessKeyId)) throw new AuthError('InvalidAuthHeader', { scheme, problem: 'malformed' })

  // Date slot: x-oss-date, else Date; when both are present and differ, the other is tried too.
  const candidates = [headerValue(req.headers, 'x-oss-date'), headerValue(req.headers, 'date')].filter(
    (d, i, all): d is string => d !== undefined && all.indexOf(d) === i,
  )
  const valid = candidates.filter((d) => parseRfc1123(d) !== undefined)
  if (valid.length === 0) throw new AuthError('InvalidDate', { scheme })
  const fresh = valid.filter((d) => within(options.now, parseRfc1123(d) as Date))
  if (fresh.length === 0) throw new AuthError('TimeSkewed', { scheme })

  rejectSecurityToken(req, params, undefined, scheme)
  const secret = secretFor(creds, accessKeyId, scheme)
  const mismatch = checkV1(req, params, fresh, secret, provided, new Set())
  if (mismatch !== undefined) throw v1Mismatch(scheme, accessKeyId, provided, mismatch)
  return { kind: 'signed', accessKeyId, scheme }
}

const V1_QUERY_AUTH = new Set(['OSSAccessKeyId', 'Expires', 'Signature'])

function verifyV1Query(req: AuthRequest, params: readonly RawParam[], creds: CredentialStore, options: VerifyOptions): AuthResult {
  const scheme = 'V1Query'
  const accessKeyId = firstParam(params, 'OSSAccessKeyId')
  const expires = firstParam(params, 'Expires')
  const provided = firstParam(params, 'Signature')
  // Order as OSS: all three present → Expires an integer → not expired → signature.
  if (accessKeyId === undefined || accessKeyId === '' || expires === undefined || expires === '' || provided === undefined || provided === '') {
    throw new AuthError('QueryAuthMissing', { scheme })
  }
  if (!/^\d{1,15}$/.test(expires)) throw new AuthError('InvalidExpires', { scheme, accessKeyId })
  if (options.now.getTime() > Number(expires) * 1000) throw new AuthError('Expired', { scheme, accessKeyId })

  rejectSecurityToken(req, params, 'security-token', scheme)
  const secret = secretFor(creds, accessKeyId, scheme)
  const mismatch = checkV1(req, params, [expires], secret, provided, V1_QUERY_AUTH)
  if (mismatch !== undefined) throw v1Mismatch(scheme, accessKeyId, provided, mismatch)
  return { kind: 'signed', accessKeyId, scheme }
}

// ── V4 ──

const V4_SIGNATURE = /^[0-9a-f]{64}$/

function checkRegion(credential: V4Credential, options: VerifyOptions, scheme: AuthScheme): void {
  if (credential.region !== bareRegion(options.region)) {
    throw new AuthError('InvalidSigningRegion', { scheme, accessKeyId: credential.accessKeyId })
  }
}

/** Query forms worth trying, primary first: only those that can differ for this query. */
function v4Forms(params: readonly { key: string; value: string }[]): V4QueryForm[] {
  const hasEmpty = params.some((p) => p.value === '')
  const empties: V4QueryForm['empty'][] = hasEmpty ? ['bare', 'equals', 'equals-unless-subresource'] : ['bare']
  const orders: V4QueryForm['order'][] = params.length > 1 ? ['bytes', 'locale'] : ['bytes']
  const forms: V4QueryForm[] = []
  for (const order of orders) for (const empty of empties) forms.push({ empty, order })
  return forms
}

interface V4Check {
  readonly req: AuthRequest
  readonly params: readonly RawParam[]
  readonly exclude: string | undefined
  readonly credential: V4Credential
  readonly datetime: string
  readonly additionalHeaders: readonly string[]
  readonly secret: string
  readonly provided: string
  readonly scheme: AuthScheme
}

function checkV4(c: V4Check): void {
  const providedLower = c.provided.toLowerCase()
  const providedBytes = V4_SIGNATURE.test(providedLower) ? Buffer.from(providedLower, 'latin1') : undefined
  // Credential date ≠ x-oss-date[0:8] can never verify (signatures.md §3: SignatureDoesNotMatch).
  const dateMatches = c.datetime.slice(0, 8) === c.credential.date8
  const key = v4SigningKey(c.secret, c.credential.date8, c.credential.region)
  const scope = v4Scope(c.credential.date8, c.credential.region)
  const tried = new Set<string>()
  let first: { canonicalRequest: Buffer; stringToSign: string } | undefined
  for (const plus of plusModes(c.req.rawQuery, 'space')) {
    const decoded = decodeQuery(c.params, plus).filter((p) => p.key !== c.exclude)
    for (const form of v4Forms(decoded)) {
      const canonicalQuery = v4CanonicalQuery(decoded, form)
      if (tried.has(canonicalQuery)) continue
      tried.add(canonicalQuery)
      const canonicalRequest = v4CanonicalRequest({
        method: c.req.method,
        bucket: c.req.bucket,
        key: c.req.key,
        canonicalQuery,
        headers: c.req.headers,
        additionalHeaders: c.additionalHeaders,
      })
      const stringToSign = v4StringToSign(c.datetime, scope, canonicalRequest)
      first ??= { canonicalRequest, stringToSign }
      if (!dateMatches || providedBytes === undefined) break
      if (safeEqual(providedBytes, Buffer.from(v4Signature(key, stringToSign), 'latin1'))) return
    }
    if (!dateMatches || providedBytes === undefined) break
  }
  const diag = first as { canonicalRequest: Buffer; stringToSign: string }
  throw new AuthError('SignatureMismatch', {
    scheme: c.scheme,
    accessKeyId: c.credential.accessKeyId,
    signatureProvided: c.provided,
    stringToSign: diag.stringToSign,
    stringToSignBytes: Buffer.from(diag.stringToSign, 'utf8'),
    canonicalRequest: diag.canonicalRequest.toString('utf8'),
  })
}

function verifyV4Header(req: AuthRequest, params: readonly RawParam[], value: string, creds: CredentialStore, options: VerifyOptions): AuthResult {
  const scheme = 'V4'
  const auth = parseV4Authorization(value)
  checkRegion(auth.credential, options, scheme)
  const additionalHeaders = parseAdditionalHeaders(auth.additionalHeaders, req.headers, scheme)

  const datetime = headerValue(req.headers, 'x-oss-date')
  const time = datetime === undefined ? undefined : parseIsoBasic(datetime)
  if (datetime === undefined || time === undefined) throw new AuthError('InvalidDate', { scheme, accessKeyId: auth.credential.accessKeyId })
  if (!within(options.now, time)) throw new AuthError('TimeSkewed', { scheme, accessKeyId: auth.credential.accessKeyId })

  rejectSecurityToken(req, params, undefined, scheme)
  const secret = secretFor(creds, auth.credential.accessKeyId, scheme)
  checkV4({ req, params, exclude: undefined, credential: auth.credential, datetime, additionalHeaders, secret, provided: auth.signature, scheme })
  return { kind: 'signed', accessKeyId: auth.credential.accessKeyId, scheme }
}

function verifyV4Query(req: AuthRequest, params: readonly RawParam[], creds: CredentialStore, options: VerifyOptions): AuthResult {
  const scheme = 'V4Query'
  const version = firstParam(params, 'x-oss-signature-version')
  const credentialText = firstParam(params, 'x-oss-credential')
  const datetime = firstParam(params, 'x-oss-date')
  const provided = firstParam(params, 'x-oss-signature')
  if (version === undefined || credentialText === undefined || datetime === undefined || provided === undefined || provided === '') {
    throw new AuthError('V4QueryIncomplete', { scheme })
  }
  if (version !== V4_ALGORITHM) throw new AuthError('InvalidAuthHeader', { scheme, problem: 'unsupported-scheme' })
  const credential = parseCredential(credentialText)
  if (credential === undefined) throw new AuthError('InvalidAuthHeader', { scheme, problem: 'malformed' })
  const accessKeyId = credential.accessKeyId
  checkRegion(credential, options, scheme)

  const expires = firstParam(params, 'x-oss-expires')
  if (expires === undefined) throw new AuthError('V4ExpiresMissing', { scheme, accessKeyId })
  if (!/^\d{1,7}$/.test(expires) || Number(expires) < 1 || Number(expires) > V4_MAX_EXPIRES) {
    throw new AuthError('V4ExpiresInvalid', { scheme, accessKeyId })
  }
  const time = parseIsoBasic(datetime)
  if (time === undefined) throw new AuthError('InvalidDate', { scheme, accessKeyId })
  // Valid while x-oss-date − 15 min ≤ now ≤ x-oss-date + x-oss-expires.
  if (options.now.getTime() < time.getTime() - MAX_SKEW_MS) throw new AuthError('V4NotYetValid', { scheme, accessKeyId })
  if (options.now.getTime() > time.getTime() + Number(expires) * 1000) throw new AuthError('V4Expired', { scheme, accessKeyId })

  const additionalHeaders = parseAdditionalHeaders(firstParam(params, 'x-oss-additional-headers'), req.headers, scheme)
  rejectSecurityToken(req, params, 'x-oss-security-token', scheme)
  const secret = secretFor(creds, accessKeyId, scheme)
  checkV4({ req, params, exclude: 'x-oss-signature', credential, datetime, additionalHeaders, secret, provided, scheme })
  return { kind: 'signed', accessKeyId, scheme }
}
