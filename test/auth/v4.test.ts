import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { headerListFrom } from '../../src/auth/canonical.js'
import { presignV4, signV4 } from '../../src/auth/sign.js'
import {
  parseV4Authorization,
  v4CanonicalQuery,
  v4CanonicalRequest,
  v4CanonicalUri,
  v4Scope,
  v4Signature,
  v4SigningKey,
  v4StringToSign,
} from '../../src/auth/v4.js'
import { verifyRequest } from '../../src/auth/verify.js'
import { LOCAL_CREDS, authRequest } from '../support/auth.js'

/** Go v2 signer_test.go common inputs. */
const GO_QUERY = [
  { key: 'param1', value: 'value1' },
  { key: '+param1', value: 'value3' },
  { key: '|param1', value: 'value4' },
  { key: '+param2', value: '' },
  { key: '|param2', value: '' },
  { key: 'param2', value: '' },
]
const GO_RAW_QUERY = 'param1=value1&%2Bparam1=value3&%7Cparam1=value4&%2Bparam2=&%7Cparam2=&param2='
const GO_KEY = '1234+-/123/1.txt'
const GO_CANONICAL_QUERY = '%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2'

function goHeaders(extra: Record<string, string>): Record<string, string> {
  return { 'x-oss-head1': 'value', abc: 'value', ZAbc: 'value', XYZ: 'value', ...extra }
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

void test('V4 signing key for sk/20231216/cn-hangzhou matches the Go v2 value', () => {
  assert.equal(v4SigningKey('sk', '20231216', 'cn-hangzhou').toString('hex'), 'b412a03b134ebddd720f5167b5de6db66620ebb3b01cff4d49e3ccb09f8de97f')
})

void test('V4 vector 1 (Go v2 header): CanonicalRequest, StringToSign and Authorization match', () => {
  const headers = goHeaders({ 'content-type': 'text/plain', 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD', 'x-oss-date': '20231216T162057Z' })
  const canonicalQuery = v4CanonicalQuery(GO_QUERY)
  assert.equal(canonicalQuery, GO_CANONICAL_QUERY)
  const canonicalRequest = v4CanonicalRequest({ method: 'PUT', bucket: 'bucket', key: GO_KEY, canonicalQuery, headers: headerListFrom(headers), additionalHeaders: [] })
  assert.equal(
    canonicalRequest.toString('utf8'),
    `PUT\n/bucket/1234%2B-/123/1.txt\n${GO_CANONICAL_QUERY}\ncontent-type:text/plain\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20231216T162057Z\nx-oss-head1:value\n\n\nUNSIGNED-PAYLOAD`,
  )
  const stringToSign = v4StringToSign('20231216T162057Z', v4Scope('20231216', 'cn-hangzhou'), canonicalRequest)
  assert.equal(
    stringToSign,
    'OSS4-HMAC-SHA256\n20231216T162057Z\n20231216/cn-hangzhou/oss/aliyun_v4_request\nf4613657f1b108998e8dbd10a1aa5da621dc2c6e02c9ddec0f163664848704c4',
  )
  const signed = signV4({
    method: 'PUT',
    bucket: 'bucket',
    key: GO_KEY,
    query: Object.fromEntries(GO_QUERY.map((p) => [p.key, p.value])),
    headers: goHeaders({ 'content-type': 'text/plain' }),
    accessKeyId: 'ak',
    secret: 'sk',
    region: 'cn-hangzhou',
    date: new Date(1702743657 * 1000),
  })
  assert.equal(
    signed.authorization,
    'OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,Signature=e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe',
  )
  assert.equal(signed.headers['x-oss-date'], '20231216T162057Z')
  assert.equal(signed.headers['x-oss-content-sha256'], 'UNSIGNED-PAYLOAD')
})

void test('V4 vector 1: verifyRequest accepts the Go v2 header-signed PUT', () => {
  const req = authRequest({
    method: 'PUT',
    bucket: 'bucket',
    key: GO_KEY,
    rawQuery: GO_RAW_QUERY,
    headers: goHeaders({
      'content-type': 'text/plain',
      'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
      'x-oss-date': '20231216T162057Z',
      authorization:
        'OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,Signature=e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe',
    }),
  })
  assert.deepEqual(verifyRequest(req, LOCAL_CREDS, { region: 'oss-cn-hangzhou', now: new Date(1702743657 * 1000) }), {
    kind: 'signed',
    accessKeyId: 'ak',
    scheme: 'V4',
  })
})

void test('V4 vector 2 (Go v2 AdditionalHeaders=abc;zabc): CanonicalHeaders include them and the signature matches', () => {
  const headers = headerListFrom(goHeaders({ 'content-type': 'text/plain', 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD', 'x-oss-date': '20231216T172512Z' }))
  const canonicalRequest = v4CanonicalRequest({ method: 'PUT', bucket: 'bucket', key: GO_KEY, canonicalQuery: GO_CANONICAL_QUERY, headers, additionalHeaders: ['abc', 'zabc'] })
  assert.ok(
    canonicalRequest
      .toString('utf8')
      .includes('\nabc:value\ncontent-type:text/plain\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20231216T172512Z\nx-oss-head1:value\nzabc:value\n\nabc;zabc\nUNSIGNED-PAYLOAD'),
  )
  const signature = v4Signature(v4SigningKey('sk', '20231216', 'cn-hangzhou'), v4StringToSign('20231216T172512Z', v4Scope('20231216', 'cn-hangzhou'), canonicalRequest))
  assert.equal(signature, '4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f')

  const req = authRequest({
    method: 'PUT',
    bucket: 'bucket',
    key: GO_KEY,
    rawQuery: GO_RAW_QUERY,
    headers: goHeaders({
      'content-type': 'text/plain',
      'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
      'x-oss-date': '20231216T172512Z',
      authorization: `OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request, Signature=${signature}, AdditionalHeaders=abc;ZAbc`,
    }),
  })
  assert.equal(verifyRequest(req, LOCAL_CREDS, { region: 'cn-hangzhou', now: new Date('2023-12-16T17:25:12Z') }).kind, 'signed')
})

void test('V4 vector 3 (Go v2 presigned): CanonicalRequest hash and x-oss-signature match', () => {
  const query = [
    ...GO_QUERY,
    { key: 'x-oss-signature-version', value: 'OSS4-HMAC-SHA256' },
    { key: 'x-oss-date', value: '20231217T025437Z' },
    { key: 'x-oss-expires', value: '599' },
    { key: 'x-oss-credential', value: 'ak/20231217/cn-hangzhou/oss/aliyun_v4_request' },
  ]
  const canonicalRequest = v4CanonicalRequest({
    method: 'PUT',
    bucket: 'bucket',
    key: GO_KEY,
    canonicalQuery: v4CanonicalQuery(query),
    headers: headerListFrom(goHeaders({ 'content-type': 'application/octet-stream' })),
    additionalHeaders: [],
  })
  assert.equal(
    canonicalRequest.toString('utf8'),
    `PUT\n/bucket/1234%2B-/123/1.txt\n${GO_CANONICAL_QUERY}&x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20231217T025437Z&x-oss-expires=599&x-oss-signature-version=OSS4-HMAC-SHA256\ncontent-type:application/octet-stream\nx-oss-head1:value\n\n\nUNSIGNED-PAYLOAD`,
  )
  assert.equal(sha256(canonicalRequest), '48814c11f278d51662015bf2f896b66ca10b6de0187ed8d952e341bbce0aa336')
  const stringToSign = v4StringToSign('20231217T025437Z', v4Scope('20231217', 'cn-hangzhou'), canonicalRequest)
  assert.equal(v4Signature(v4SigningKey('sk', '20231217', 'cn-hangzhou'), stringToSign), 'a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe')

  const presigned = presignV4({
    method: 'PUT',
    bucket: 'bucket',
    key: GO_KEY,
    query: Object.fromEntries(GO_QUERY.map((p) => [p.key, p.value])),
    headers: goHeaders({ 'content-type': 'application/octet-stream' }),
    accessKeyId: 'ak',
    secret: 'sk',
    region: 'cn-hangzhou',
    date: new Date('2023-12-17T02:54:37Z'),
    expiresSeconds: 599,
  })
  assert.match(presigned, /&x-oss-signature=a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe/)
})

void test('V4 vector 3: verifyRequest accepts the Go v2 presigned PUT within its lifetime', () => {
  const rawQuery = `${GO_RAW_QUERY}&x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-date=20231217T025437Z&x-oss-expires=599&x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-signature=a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe`
  const req = authRequest({ method: 'PUT', bucket: 'bucket', key: GO_KEY, rawQuery, headers: goHeaders({ 'content-type': 'application/octet-stream' }) })
  assert.deepEqual(verifyRequest(req, LOCAL_CREDS, { region: 'cn-hangzhou', now: new Date('2023-12-17T03:00:00Z') }), {
    kind: 'signed',
    accessKeyId: 'ak',
    scheme: 'V4Query',
  })
})

const LOCAL_V4 = { 'x-oss-date': '20261125T120000Z', 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD' }
const AT_2026 = { region: 'cn-hangzhou', now: new Date('2026-11-25T12:00:00Z') }
const localAuth = (signature: string): string => `OSS4-HMAC-SHA256 Credential=AKIDLOCAL/20261125/cn-hangzhou/oss/aliyun_v4_request,Signature=${signature}`

function localSignature(canonicalRequest: string): string {
  return v4Signature(v4SigningKey('SECRETLOCAL', '20261125', 'cn-hangzhou'), v4StringToSign('20261125T120000Z', v4Scope('20261125', 'cn-hangzhou'), canonicalRequest))
}

void test('V4 vector 4: ListBuckets CanonicalRequest signs to the known value and verifies', () => {
  const canonical = v4CanonicalRequest({ method: 'GET', bucket: undefined, key: undefined, canonicalQuery: '', headers: headerListFrom(LOCAL_V4), additionalHeaders: [] })
  assert.equal(canonical.toString('utf8'), 'GET\n/\n\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20261125T120000Z\n\n\nUNSIGNED-PAYLOAD')
  const expected = 'bc9c7f75652400bbb432c2d3e0c74476ec80e581335e1e87dc828273f970ae12'
  assert.equal(localSignature(canonical.toString('utf8')), expected)
  const req = authRequest({ headers: { ...LOCAL_V4, authorization: localAuth(expected) } })
  assert.equal(verifyRequest(req, LOCAL_CREDS, AT_2026).kind, 'signed')
})

void test('V4 vector 5: PutObject of "dir/a b+c.txt" with Content-MD5 signs to the known value and verifies', () => {
  const headers = { ...LOCAL_V4, 'Content-Type': 'text/plain', 'Content-MD5': 'XUFAKrxLKna5cZ2REBfFkg==' }
  const canonical = v4CanonicalRequest({ method: 'PUT', bucket: 'bkt1', key: 'dir/a b+c.txt', canonicalQuery: '', headers: headerListFrom(headers), additionalHeaders: [] })
  assert.equal(
    canonical.toString('utf8'),
    'PUT\n/bkt1/dir/a%20b%2Bc.txt\n\ncontent-md5:XUFAKrxLKna5cZ2REBfFkg==\ncontent-type:text/plain\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20261125T120000Z\n\n\nUNSIGNED-PAYLOAD',
  )
  const expected = 'bf6329de3e8aaa7836ebeb43a5470119dfa01791489cf5cea062109dd3ff957e'
  assert.equal(localSignature(canonical.toString('utf8')), expected)
  const req = authRequest({ method: 'PUT', bucket: 'bkt1', key: 'dir/a b+c.txt', headers: { ...headers, authorization: localAuth(expected) } })
  assert.equal(verifyRequest(req, LOCAL_CREDS, AT_2026).kind, 'signed')
})

void test('V4 vector 6: InitiateMultipartUpload signs the bare "uploads" query and verifies with "uploads="', () => {
  const expected = '0e89d828af7f491de9fd3ef01e22dce29b781fba537c1efd6dc1f5f466cf58a4'
  const signed = signV4({ method: 'POST', bucket: 'bkt1', key: 'big.bin', query: { uploads: '' }, headers: {}, accessKeyId: 'AKIDLOCAL', secret: 'SECRETLOCAL', region: 'cn-hangzhou', date: new Date('2026-11-25T12:00:00Z') })
  assert.equal(signed.authorization, localAuth(expected))
  for (const rawQuery of ['uploads', 'uploads=']) {
    const req = authRequest({ method: 'POST', bucket: 'bkt1', key: 'big.bin', rawQuery, headers: { ...LOCAL_V4, authorization: localAuth(expected) } })
    assert.equal(verifyRequest(req, LOCAL_CREDS, AT_2026).kind, 'signed', rawQuery)
  }
})

void test('v4CanonicalUri encodes everything but unreserved characters and "/"', () => {
  assert.equal(v4CanonicalUri(undefined, undefined), '/')
  assert.equal(v4CanonicalUri('b', undefined), '/b/')
  assert.equal(v4CanonicalUri('b', "a b+c!'()*~é/x"), '/b/a%20b%2Bc%21%27%28%29%2A~%C3%A9/x')
})

void test('parseV4Authorization accepts fields in any order with optional spaces', () => {
  const parsed = parseV4Authorization('OSS4-HMAC-SHA256 Signature=abc ,  AdditionalHeaders=host;range,Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request')
  assert.equal(parsed.credential.accessKeyId, 'ak')
  assert.equal(parsed.credential.region, 'cn-hangzhou')
  assert.equal(parsed.additionalHeaders, 'host;range')
  assert.equal(parsed.signature, 'abc')
})

void test('parseV4Authorization rejects missing, duplicated or unknown fields as InvalidAuthHeader', () => {
  for (const value of [
    'OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request',
    'OSS4-HMAC-SHA256 Signature=abc',
    'OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,Signature=a,Signature=b',
    'OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,Signature=a,Extra=1',
    'OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss-cloudbox/aliyun_v4_request,Signature=a',
    'OSS4-HMAC-SHA256 Credential=ak/2023121/cn-hangzhou/oss/aliyun_v4_request,Signature=a',
  ]) {
    assert.throws(() => parseV4Authorization(value), { reason: 'InvalidAuthHeader' }, value)
  }
})
