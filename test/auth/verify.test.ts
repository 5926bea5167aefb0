import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { createRequire } from 'node:module'
import fc from 'fast-check'
import { AuthError } from '../../src/auth/errors.js'
import { encodeQuery, presignV1, presignV4, signV1, signV4 } from '../../src/auth/sign.js'
import { formatRfc1123 } from '../../src/auth/time.js'
import { verifyRequest } from '../../src/auth/verify.js'
import type { AuthRequest, VerifyOptions } from '../../src/auth/types.js'
import { LOCAL, LOCAL_CREDS, authRequest, splitUrl, wireHeaders } from '../support/auth.js'

// ali-oss is CommonJS without types: everything from it is `any`.
const require = createRequire(import.meta.url)
const OSS = require('ali-oss')
const { createRequest } = require('ali-oss/lib/common/utils/createRequest.js')

const NOW = new Date('2026-11-25T12:00:00Z')
const OPTS: VerifyOptions = { now: NOW, region: 'cn-hangzhou' }
const V1_DATE = formatRfc1123(NOW)

function hmacSha1(stringToSign: string | Buffer): string {
  return createHmac('sha1', LOCAL.secret).update(stringToSign).digest('base64')
}

function reason(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof AuthError) return err.reason
    throw err
  }
  return 'no error'
}

function v1Request(extra: Partial<{ method: string; bucket: string; key: string; rawQuery: string; headers: Record<string, string> }> = {}): AuthRequest {
  const headers = extra.headers ?? { 'x-oss-date': V1_DATE }
  const authorization = signV1({ method: extra.method ?? 'GET', bucket: extra.bucket ?? 'bkt1', key: extra.key ?? 'k', headers, ...LOCAL })
  return authRequest({ method: extra.method ?? 'GET', bucket: extra.bucket ?? 'bkt1', key: extra.key ?? 'k', rawQuery: extra.rawQuery ?? '', headers: { ...headers, authorization } })
}

function v4Request(options: { headers?: Record<string, string>; date?: Date; region?: string; authorization?: (a: string) => string } = {}): AuthRequest {
  const signed = signV4({ method: 'GET', bucket: 'bkt1', key: 'k', headers: options.headers ?? {}, ...LOCAL, region: options.region ?? 'cn-hangzhou', date: options.date ?? NOW })
  const authorization = options.authorization === undefined ? signed.authorization : options.authorization(signed.authorization)
  return authRequest({ bucket: 'bkt1', key: 'k', headers: { ...signed.headers, authorization } })
}

// ── dispatch ──

void test('verifyRequest treats a request without Authorization or query credentials as anonymous', () => {
  assert.deepEqual(verifyRequest(authRequest({ bucket: 'b', key: 'k', rawQuery: 'prefix=a&Expires=1' }), LOCAL_CREDS, OPTS), { kind: 'anonymous' })
})

void test('verifyRequest refuses header and query credentials together as BothAuthForms', () => {
  const req = v1Request({ rawQuery: 'OSSAccessKeyId=AKIDLOCAL&Expires=1&Signature=x' })
  assert.equal(reason(() => verifyRequest(req, LOCAL_CREDS, OPTS)), 'BothAuthForms')
})

void test('verifyRequest refuses unsupported or malformed Authorization headers as InvalidAuthHeader', () => {
  for (const value of ['Bearer abc', 'OSS2 AccessKeyId:a,Signature:b', 'AWS4-HMAC-SHA256 Credential=a', 'OSS nocolon', 'OSS :sig', 'OSS ak:', '', 'OSS4-HMAC-SHA256']) {
    const req = authRequest({ headers: { 'x-oss-date': V1_DATE, authorization: value } })
    assert.equal(reason(() => verifyRequest(req, LOCAL_CREDS, OPTS)), 'InvalidAuthHeader', value)
  }
  const twice = authRequest({ headers: new Map([['authorization', ['OSS a:b', 'OSS a:b']]]) })
  assert.equal(reason(() => verifyRequest(twice, LOCAL_CREDS, OPTS)), 'InvalidAuthHeader')
})

// ── V1 header ──

void test('V1 accepts a request dated 14 minutes off and refuses 16 minutes off as TimeSkewed', () => {
  for (const [minutes, expected] of [[14, 'no error'], [-14, 'no error'], [16, 'TimeSkewed'], [-16, 'TimeSkewed']] as const) {
    const req = v1Request({ headers: { 'x-oss-date': formatRfc1123(new Date(NOW.getTime() + minutes * 60_000)) } })
    assert.equal(reason(() => verifyRequest(req, LOCAL_CREDS, OPTS)), expected, `${minutes} min`)
  }
})

void test('V1 refuses a missing or non-RFC 1123 date as InvalidDate', () => {
  for (const headers of [{}, { 'x-oss-date': '20261125T120000Z' }, { date: 'yesterday' }, { 'x-oss-date': 'Wed, 31 Feb 2026 12:00:00 GMT' }]) {
    const req = v1Request({ headers })
    assert.equal(reason(() => verifyRequest(req, LOCAL_CREDS, OPTS)), 'InvalidDate', JSON.stringify(headers))
  }
})

void test('V1 signed over Date verifies when x-oss-date is also present and differs', () => {
  const later = formatRfc1123(new Date(NOW.getTime() + 60_000))
  // The client put Date in the slot; x-oss-date is still signed as a header.
  const signature = hmacSha1(`GET\n\n\n${V1_DATE}\nx-oss-date:${later}\n/bkt1/k`)
  const req = authRequest({ bucket: 'bkt1', key: 'k', headers: { date: V1_DATE, 'x-oss-date': later, authorization: `OSS AKIDLOCAL:${signature}` } })
  assert.deepEqual(verifyRequest(req, LOCAL_CREDS, OPTS), { kind: 'signed', accessKeyId: 'AKIDLOCAL', scheme: 'V1' })
})

void test('V1 refuses an unknown access key as UnknownAccessKey carrying the key id', () => {
  const req = authRequest({ bucket: 'bkt1', key: 'k', headers: { 'x-oss-date': V1_DATE, authorization: 'OSS NOBODY:kSHKmLxlyEAKtZPkJhG9bZb5k7M=' } })
  assert.throws(() => verifyRequest(req, LOCAL_CREDS, OPTS), (err: unknown) => err instanceof AuthError && err.reason === 'UnknownAccessKey' && err.accessKeyId === 'NOBODY')
})

void test('V1 SignatureMismatch carries the access key, provided signature and our StringToSign', () => {
  const good = v1Request()
  const req = authRequest({ bucket: 'bkt1', key: 'other', headers: good.headers })
  assert.throws(
    () => verifyRequest(req, LOCAL_CREDS, OPTS),
    (err: unknown) =>
      err instanceof AuthError &&
      err.reason === 'SignatureMismatch' &&
      err.scheme === 'V1' &&
      err.accessKeyId === 'AKIDLOCAL' &&
      err.signatureProvided === (good.headers.get('authorization')?.[0] ?? '').slice('OSS AKIDLOCAL:'.length) &&
      err.stringToSign === `GET\n\n\n${V1_DATE}\nx-oss-date:${V1_DATE}\n/bkt1/other` &&
      Buffer.from(err.stringToSignBytes ?? []).toString('utf8') === err.stringToSign &&
      !err.message.includes('SECRETLOCAL'),
  )
})

void test('V1 refuses a header security token as SecurityTokenUnsupported', () => {
  const req = v1Request({ headers: { 'x-oss-date': V1_DATE, 'x-oss-security-token': 'tok' } })
  assert.equal(reason(() => verifyRequest(req, LOCAL_CREDS, OPTS)), 'SecurityTokenUnsupported')
})

void test('V1 signs repeated x-oss headers joined with "," as they arrived in rawHeaders', () => {
  const headers = new Map([
    ['x-oss-date', [V1_DATE]],
    ['x-oss-meta-tag', ['a', ' b ']],
  ])
  const authorization = `OSS AKIDLOCAL:${hmacSha1(`GET\n\n\n${V1_DATE}\nx-oss-date:${V1_DATE}\nx-oss-meta-tag:a,b\n/bkt1/k`)}`
  const req = authRequest({ bucket: 'bkt1', key: 'k', headers: new Map([...headers, ['authorization', [authorization]]]) })
  assert.equal(verifyRequest(req, LOCAL_CREDS, OPTS).kind, 'signed')
})

void test('V1 signs header values as their latin1 wire bytes (UTF-8 metadata sent raw)', () => {
  const utf8AsLatin1 = Buffer.from('välue ✓', 'utf8').toString('latin1')
  const stringToSign = Buffer.concat([Buffer.from(`GET\n\n\n${V1_DATE}\nx-oss-date:${V1_DATE}\nx-oss-meta-x:`), Buffer.from('välue ✓', 'utf8'), Buffer.from('\n/bkt1/ключ')])
  const signature = hmacSha1(stringToSign)
  const req = authRequest({ bucket: 'bkt1', key: 'ключ', headers: { 'x-oss-date': V1_DATE, 'x-oss-meta-x': utf8AsLatin1, authorization: `OSS AKIDLOCAL:${signature}` } })
  assert.equal(verifyRequest(req, LOCAL_CREDS, OPTS).kind, 'signed')
})

void test('V1 ignores unsigned listing parameters and signs x-oss-* query parameters', () => {
  const headers = { 'x-oss-date': V1_DATE }
  const authorization = signV1({ method: 'GET', bucket: 'bkt1', key: 'img.png', subresources: { 'x-oss-process': 'image/resize,w_100' }, headers, ...LOCAL })
  const req = authRequest({ bucket: 'bkt1', key: 'img.png', rawQuery: 'x-oss-process=image%2Fresize%2Cw_100&prefix=zzz', headers: { ...headers, authorization } })
  assert.equal(verifyRequest(req, LOCAL_CREDS, OPTS).kind, 'signed')
  const unsigned = authRequest({ bucket: 'bkt1', key: 'img.png', rawQuery: 'prefix=zzz', headers: { ...headers, authorization } })
  assert.equal(reason(() => verifyRequest(unsigned, LOCAL_CREDS, OPTS)), 'SignatureMismatch')
})

// ── V1 presigned ──

void test('V1 presigned URL checks parameters, then Expires format, then expiry, then the signature', () => {
  const query = presignV1({ method: 'GET', bucket: 'bkt1', key: 'k', expires: NOW.getTime() / 1000 + 60, ...LOCAL })
  const at = (rawQuery: string, now = NOW): string => reason(() => verifyRequest(authRequest({ bucket: 'bkt1', key: 'k', rawQuery }), LOCAL_CREDS, { ...OPTS, now }))
  assert.equal(at(query), 'no error')
  assert.equal(at(query.replace(/&Signature=[^&]*/, '')), 'QueryAuthMissing')
  assert.equal(at('OSSAccessKeyId=AKIDLOCAL&Expires=abc'), 'QueryAuthMissing')
  assert.equal(at('OSSAccessKeyId=AKIDLOCAL&Expires=abc&Signature=x'), 'InvalidExpires')
  assert.equal(at('OSSAccessKeyId=AKIDLOCAL&Expires=1&Signature=x'), 'Expired')
  assert.equal(at(query, new Date(NOW.getTime() + 61_000)), 'Expired')
  assert.equal(at(query.replace('AKIDLOCAL', 'NOBODY')), 'UnknownAccessKey')
  assert.equal(at(query.replace(/Signature=[^&]*/, 'Signature=AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D')), 'SignatureMismatch')
})

void test('V1 presigned URL signs response-* values with a literal "+" and spaces', () => {
  const expires = NOW.getTime() / 1000 + 60
  const subresources = { 'response-content-disposition': 'attachment; filename="a b+c.txt"' }
  const query = presignV1({ method: 'GET', bucket: 'bkt1', key: 'a b+c.txt', expires, subresources, ...LOCAL })
  assert.ok(query.includes('%2B'))
  const req = authRequest({ bucket: 'bkt1', key: 'a b+c.txt', rawQuery: query })
  assert.deepEqual(verifyRequest(req, LOCAL_CREDS, OPTS), { kind: 'signed', accessKeyId: 'AKIDLOCAL', scheme: 'V1Query' })
  // A Go-style client writes the space as "+": the retry with "+" as space accepts it.
  const goStyle = authRequest({ bucket: 'bkt1', key: 'a b+c.txt', rawQuery: query.replace('%20b', '+b').replace('attachment%3B%20', 'attachment%3B+') })
  assert.equal(verifyRequest(goStyle, LOCAL_CREDS, OPTS).kind, 'signed')
})

// ── V4 header ──

void test('V4 accepts options.region with or without the oss- prefix and refuses another region as InvalidSigningRegion', () => {
  assert.equal(verifyRequest(v4Request(), LOCAL_CREDS, { ...OPTS, region: 'oss-cn-hangzhou' }).kind, 'signed')
  assert.equal(reason(() => verifyRequest(v4Request({ region: 'cn-beijing' }), LOCAL_CREDS, OPTS)), 'InvalidSigningRegion')
  assert.equal(reason(() => verifyRequest(v4Request({ region: 'oss-cn-beijing' }), LOCAL_CREDS, OPTS)), 'InvalidSigningRegion')
})

void test('V4 refuses empty, gapped or unmatched AdditionalHeaders as InvalidAuthHeader with a problem', () => {
  const cases = [
    ['AdditionalHeaders=,', 'additional-headers-empty'],
    ['AdditionalHeaders=host;,', 'additional-headers-empty-item'],
    ['AdditionalHeaders=range,', 'additional-header-missing'],
  ] as const
  for (const [insert, problem] of cases) {
    const req = v4Request({ headers: { host: 'bkt1.localhost' }, authorization: (a) => a.replace('Signature=', insert + 'Signature=') })
    assert.throws(() => verifyRequest(req, LOCAL_CREDS, OPTS), (err: unknown) => err instanceof AuthError && err.reason === 'InvalidAuthHeader' && err.problem === problem, insert)
  }
})

void test('V4 with AdditionalHeaders=host verifies and then protects the Host header', () => {
  const signed = signV4({ method: 'GET', bucket: 'bkt1', key: 'k', headers: { Host: 'bkt1.localhost' }, additionalHeaders: ['Host'], ...LOCAL, region: 'cn-hangzhou', date: NOW })
  assert.match(signed.authorization, /,AdditionalHeaders=host,/)
  const req = authRequest({ bucket: 'bkt1', key: 'k', headers: { ...signed.headers, authorization: signed.authorization } })
  assert.equal(verifyRequest(req, LOCAL_CREDS, OPTS).kind, 'signed')
  const moved = authRequest({ bucket: 'bkt1', key: 'k', headers: { ...signed.headers, Host: 'evil', authorization: signed.authorization } })
  assert.equal(reason(() => verifyRequest(moved, LOCAL_CREDS, OPTS)), 'SignatureMismatch')
})

void test('V4 refuses a missing or malformed x-oss-date as InvalidDate and 16 minutes of skew as TimeSkewed', () => {
  const noDate = v4Request()
  const headers = new Map(noDate.headers)
  headers.delete('x-oss-date')
  assert.equal(reason(() => verifyRequest({ ...noDate, headers }, LOCAL_CREDS, OPTS)), 'InvalidDate')
  const bad = new Map(noDate.headers)
  bad.set('x-oss-date', [V1_DATE])
  assert.equal(reason(() => verifyRequest({ ...noDate, headers: bad }, LOCAL_CREDS, OPTS)), 'InvalidDate')
  assert.equal(reason(() => verifyRequest(v4Request({ date: new Date(NOW.getTime() + 16 * 60_000) }), LOCAL_CREDS, OPTS)), 'TimeSkewed')
  assert.equal(reason(() => verifyRequest(v4Request({ date: new Date(NOW.getTime() - 14 * 60_000) }), LOCAL_CREDS, OPTS)), 'no error')
})

void test('V4 SignatureMismatch carries the CanonicalRequest, and a credential date unlike x-oss-date never verifies', () => {
  const req = v4Request({ authorization: (a) => a.replace('/20261125/', '/20261124/') })
  assert.throws(
    () => verifyRequest(req, LOCAL_CREDS, OPTS),
    (err: unknown) =>
      err instanceof AuthError &&
      err.reason === 'SignatureMismatch' &&
      err.scheme === 'V4' &&
      err.canonicalRequest === 'GET\n/bkt1/k\n\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20261125T120000Z\n\n\nUNSIGNED-PAYLOAD' &&
      err.stringToSign?.startsWith('OSS4-HMAC-SHA256\n20261125T120000Z\n20261124/cn-hangzhou/oss/aliyun_v4_request\n') === true,
  )
})

void test('V4 accepts an uppercase hex signature and refuses a truncated one', () => {
  assert.equal(verifyRequest(v4Request({ authorization: (a) => a.replace(/Signature=(\w+)/, (_m, s: string) => `Signature=${s.toUpperCase()}`) }), LOCAL_CREDS, OPTS).kind, 'signed')
  assert.equal(reason(() => verifyRequest(v4Request({ authorization: (a) => a.slice(0, -1) }), LOCAL_CREDS, OPTS)), 'SignatureMismatch')
})

void test('V4 refuses a security token header as SecurityTokenUnsupported', () => {
  assert.equal(reason(() => verifyRequest(v4Request({ headers: { 'x-oss-security-token': 't' } }), LOCAL_CREDS, OPTS)), 'SecurityTokenUnsupported')
})

void test('V4 decodes "+" in the query as a space, as Go v2 sends it', () => {
  const signed = signV4({ method: 'GET', bucket: 'bkt1', query: { prefix: 'a b', 'list-type': '2' }, headers: {}, ...LOCAL, region: 'cn-hangzhou', date: NOW })
  const req = authRequest({ bucket: 'bkt1', rawQuery: 'list-type=2&prefix=a+b', headers: { ...signed.headers, authorization: signed.authorization } })
  assert.equal(verifyRequest(req, LOCAL_CREDS, OPTS).kind, 'signed')
  const tampered = authRequest({ bucket: 'bkt1', rawQuery: 'list-type=2&prefix=a+c', headers: { ...signed.headers, authorization: signed.authorization } })
  assert.equal(reason(() => verifyRequest(tampered, LOCAL_CREDS, OPTS)), 'SignatureMismatch')
})

// ── V4 presigned ──

void test('V4 presigned URL is valid from 15 minutes before x-oss-date until x-oss-date + x-oss-expires', () => {
  const query = presignV4({ method: 'GET', bucket: 'bkt1', key: 'k', ...LOCAL, region: 'cn-hangzhou', date: NOW, expiresSeconds: 600 })
  const at = (offsetSeconds: number): string =>
    reason(() => verifyRequest(authRequest({ bucket: 'bkt1', key: 'k', rawQuery: query }), LOCAL_CREDS, { ...OPTS, now: new Date(NOW.getTime() + offsetSeconds * 1000) }))
  assert.equal(at(0), 'no error')
  assert.equal(at(-15 * 60), 'no error')
  assert.equal(at(-15 * 60 - 1), 'V4NotYetValid')
  assert.equal(at(600), 'no error')
  assert.equal(at(601), 'V4Expired')
})

void test('V4 presigned URL refuses missing, zero, oversized or non-integer x-oss-expires', () => {
  const query = presignV4({ method: 'GET', bucket: 'bkt1', key: 'k', ...LOCAL, region: 'cn-hangzhou', date: NOW, expiresSeconds: 600 })
  const at = (rawQuery: string): string => reason(() => verifyRequest(authRequest({ bucket: 'bkt1', key: 'k', rawQuery }), LOCAL_CREDS, OPTS))
  assert.equal(at(query.replace('x-oss-expires=600&', '')), 'V4ExpiresMissing')
  for (const bad of ['0', '604801', 'abc', '-5', '1.5']) assert.equal(at(query.replace('x-oss-expires=600', `x-oss-expires=${bad}`)), 'V4ExpiresInvalid', bad)
  assert.equal(at(query.replace(/&x-oss-signature=\w+/, '')), 'V4QueryIncomplete')
  assert.equal(at(query.replace('x-oss-signature-version=OSS4-HMAC-SHA256', 'x-oss-signature-version=OSS2')), 'InvalidAuthHeader')
  assert.equal(at(`${query}&x-oss-security-token=t`), 'SecurityTokenUnsupported')
  assert.equal(at(query.replace('cn-hangzhou', 'cn-beijing')), 'InvalidSigningRegion')
  assert.equal(at(query.replace('x-oss-date=20261125T120000Z', 'x-oss-date=2026-11-25')), 'InvalidDate')
})

void test('V4 presigned URL covers every query parameter, not only sub-resources', () => {
  const query = presignV4({ method: 'GET', bucket: 'bkt1', key: 'k', query: { 'response-content-type': 'text/plain', foo: 'bar' }, ...LOCAL, region: 'cn-hangzhou', date: NOW, expiresSeconds: 60 })
  assert.equal(verifyRequest(authRequest({ bucket: 'bkt1', key: 'k', rawQuery: query }), LOCAL_CREDS, OPTS).kind, 'signed')
  assert.equal(reason(() => verifyRequest(authRequest({ bucket: 'bkt1', key: 'k', rawQuery: query.replace('foo=bar', 'foo=baz') }), LOCAL_CREDS, OPTS)), 'SignatureMismatch')
})

// ── ali-oss 6.23.0 cross-check: what the SDK signs, verifyRequest accepts ──

interface AliRequest {
  readonly url: string
  readonly params: { readonly method: string; readonly headers: Record<string, unknown> }
}

/** The slice of the ali-oss client these tests call. */
interface AliClient {
  signatureUrl(name: string, options: object): string
  signatureUrlV4(method: string, expires: number, request: object, objectName: string, additionalHeaders?: string[]): Promise<string>
}

function aliClient(extra: Record<string, unknown> = {}): AliClient {
  return new OSS({ accessKeyId: LOCAL.accessKeyId, accessKeySecret: LOCAL.secret, bucket: 'bkt1', region: 'oss-cn-hangzhou', endpoint: 'http://127.0.0.1:8080', ...extra })
}

/** Reads an ali-oss request the way our server will: bucket from the vhost Host, key from the raw path. */
function fromAli(built: AliRequest): AuthRequest {
  const { path, rawQuery } = splitUrl(built.url)
  const key = path === '/' ? undefined : decodeURIComponent(path.slice(1))
  return { method: built.params.method, bucket: 'bkt1', key, rawQuery, headers: wireHeaders(built.params.headers) }
}

const ALI_CASES = [
  { name: 'PutObject with a UTF-8 key, metadata and Content-MD5', params: { method: 'PUT', object: 'dir/ключ a b+c.txt', headers: { 'x-oss-meta-author': 'alice', 'Cache-Control': 'no-cache' }, content: Buffer.from('hello') } },
  { name: 'AppendObject', params: { method: 'POST', object: 'log.txt', subres: { append: '', position: '0' }, content: Buffer.from('x') } },
  { name: 'InitiateMultipartUpload', params: { method: 'POST', object: 'big.bin', subres: 'uploads' } },
  { name: 'UploadPart', params: { method: 'PUT', object: 'big.bin', subres: { partNumber: 1, uploadId: 'ABC+/=' }, content: Buffer.from('p') } },
  { name: 'ListObjectsV2 with listing and signed parameters', params: { method: 'GET', subres: { 'continuation-token': 'Cg+bYw==' }, query: { 'list-type': 2, prefix: 'a b/', 'max-keys': 10 } } },
  { name: 'GetObject with response-* overrides', params: { method: 'GET', object: 'a.txt', subres: { 'response-content-disposition': 'attachment; filename="a b+c.txt"', 'response-content-type': 'text/plain' } } },
  { name: 'GetBucketAcl', params: { method: 'GET', subres: 'acl' } },
] as const

for (const v4 of [false, true]) {
  for (const c of ALI_CASES) {
    void test(`ali-oss ${v4 ? 'V4' : 'V1'} header-signed ${c.name} verifies`, () => {
      const client = aliClient({ authorizationV4: v4 })
      const built = createRequest.call(client, { bucket: 'bkt1', ...c.params }) as AliRequest
      const result = verifyRequest(fromAli(built), LOCAL_CREDS, { ...OPTS, now: new Date() })
      assert.deepEqual(result, { kind: 'signed', accessKeyId: LOCAL.accessKeyId, scheme: v4 ? 'V4' : 'V1' })
    })
  }
}

void test('ali-oss V1 with headerEncoding latin1 signs UTF-8 metadata that verifies', () => {
  const client = aliClient({ headerEncoding: 'latin1' })
  const built = createRequest.call(client, { bucket: 'bkt1', method: 'PUT', object: 'ключ.txt', headers: { 'x-oss-meta-name': 'välue ✓' }, content: Buffer.from('x') }) as AliRequest
  assert.equal(verifyRequest(fromAli(built), LOCAL_CREDS, { ...OPTS, now: new Date() }).kind, 'signed')
})

void test('ali-oss V4 with mixed-case and empty query values verifies (localeCompare order, "k=" form)', () => {
  const client = aliClient({ authorizationV4: true })
  const built = createRequest.call(client, { bucket: 'bkt1', method: 'GET', object: 'k', query: { Zed: '1', alpha: '2', empty: '' } }) as AliRequest
  assert.equal(verifyRequest(fromAli(built), LOCAL_CREDS, { ...OPTS, now: new Date() }).kind, 'signed')
})

void test('ali-oss signatureUrl (V1 presigned) with response overrides verifies', () => {
  const client = aliClient({ endpoint: 'http://localhost:8080' })
  const url = client.signatureUrl('dir/ключ a b+c.txt', { expires: 600, response: { 'content-disposition': 'attachment; filename="a b+c.txt"' }, process: 'image/resize,w_100' })
  const { path, rawQuery } = splitUrl(url)
  const req = authRequest({ bucket: 'bkt1', key: decodeURIComponent(path.slice(1)), rawQuery })
  assert.deepEqual(verifyRequest(req, LOCAL_CREDS, { ...OPTS, now: new Date() }), { kind: 'signed', accessKeyId: LOCAL.accessKeyId, scheme: 'V1Query' })
})

void test('ali-oss signatureUrlV4 with queries and signed headers verifies', async () => {
  const client = aliClient({ endpoint: 'http://localhost:8080' })
  const url = await client.signatureUrlV4(
    'PUT',
    600,
    { headers: { 'Content-Type': 'text/plain', 'x-oss-meta-a': 'b', host: 'bkt1.localhost:8080' }, queries: { 'response-content-type': 'text/plain', flag: '' } },
    'dir/ключ a b+c.txt',
    ['host'],
  )
  const { path, rawQuery } = splitUrl(url)
  const req = authRequest({ method: 'PUT', bucket: 'bkt1', key: decodeURIComponent(path.slice(1)), rawQuery, headers: { 'content-type': 'text/plain', 'x-oss-meta-a': 'b', host: 'bkt1.localhost:8080' } })
  assert.deepEqual(verifyRequest(req, LOCAL_CREDS, { ...OPTS, now: new Date() }), { kind: 'signed', accessKeyId: LOCAL.accessKeyId, scheme: 'V4Query' })
})

// ── properties ──

const bucketArb = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}[a-z0-9]$/)
const keyArb = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
const metaArb = fc.dictionary(fc.stringMatching(/^[a-z0-9-]{1,12}$/), fc.string({ maxLength: 20 }), { maxKeys: 4 })
const subresourceArb = fc.record(
  { versionId: fc.string({ maxLength: 10 }), uploadId: fc.string({ maxLength: 10 }), 'response-content-type': fc.string({ maxLength: 10 }), uploads: fc.constant('') },
  { requiredKeys: [] },
)
const queryArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 4 })
const secretArb = fc.string({ minLength: 1, maxLength: 30 })

void test('property: signV1 then verifyRequest accepts arbitrary buckets, keys, metadata and sub-resources', () => {
  fc.assert(
    fc.property(bucketArb, keyArb, metaArb, subresourceArb, secretArb, (bucket, key, meta, subresources, secret) => {
      const headers: Record<string, string> = { 'x-oss-date': V1_DATE }
      for (const [k, v] of Object.entries(meta)) headers[`x-oss-meta-${k}`] = v
      const authorization = signV1({ method: 'PUT', bucket, key, subresources, headers, secret, accessKeyId: 'prop' })
      const req = authRequest({ method: 'PUT', bucket, key, rawQuery: encodeQuery(subresources), headers: { ...headers, authorization } })
      assert.deepEqual(verifyRequest(req, { secretFor: () => secret }, OPTS), { kind: 'signed', accessKeyId: 'prop', scheme: 'V1' })
      const other = authRequest({ method: 'PUT', bucket, key: `${key}x`, rawQuery: encodeQuery(subresources), headers: { ...headers, authorization } })
      assert.equal(reason(() => verifyRequest(other, { secretFor: () => secret }, OPTS)), 'SignatureMismatch')
    }),
    { numRuns: 200 },
  )
})

void test('property: signV4 then verifyRequest accepts arbitrary keys, queries and metadata', () => {
  fc.assert(
    fc.property(bucketArb, keyArb, queryArb, metaArb, secretArb, (bucket, key, query, meta, secret) => {
      const extra: Record<string, string> = { 'Content-Type': 'application/octet-stream' }
      for (const [k, v] of Object.entries(meta)) extra[`x-oss-meta-${k}`] = v
      const signed = signV4({ method: 'PUT', bucket, key, query, headers: extra, accessKeyId: 'prop', secret, region: 'cn-hangzhou', date: NOW })
      const req = authRequest({ method: 'PUT', bucket, key, rawQuery: encodeQuery(query), headers: { ...signed.headers, authorization: signed.authorization } })
      assert.deepEqual(verifyRequest(req, { secretFor: () => secret }, OPTS), { kind: 'signed', accessKeyId: 'prop', scheme: 'V4' })
      const wrongSecret = reason(() => verifyRequest(req, { secretFor: () => `${secret}!` }, OPTS))
      assert.equal(wrongSecret, 'SignatureMismatch')
    }),
    { numRuns: 200 },
  )
})

void test('property: presignV1 and presignV4 URLs verify for arbitrary keys and query parameters', () => {
  fc.assert(
    fc.property(bucketArb, keyArb, subresourceArb, queryArb, (bucket, key, subresources, query) => {
      const v1 = presignV1({ method: 'GET', bucket, key, expires: NOW.getTime() / 1000 + 60, subresources, ...LOCAL })
      assert.equal(verifyRequest(authRequest({ bucket, key, rawQuery: v1 }), LOCAL_CREDS, OPTS).kind, 'signed')
      const v4 = presignV4({ method: 'GET', bucket, key, query, ...LOCAL, region: 'oss-cn-hangzhou', date: NOW, expiresSeconds: 60 })
      assert.equal(verifyRequest(authRequest({ bucket, key, rawQuery: v4 }), LOCAL_CREDS, OPTS).kind, 'signed')
    }),
    { numRuns: 200 },
  )
})
