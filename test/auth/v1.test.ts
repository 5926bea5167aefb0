import { test } from 'node:test'
import assert from 'node:assert/strict'
import { headerListFrom } from '../../src/auth/canonical.js'
import { presignV1, signV1 } from '../../src/auth/sign.js'
import { v1CanonicalHeaders, v1CanonicalResource, v1Signature, v1StringToSign } from '../../src/auth/v1.js'
import { verifyRequest } from '../../src/auth/verify.js'
import { LOCAL_CREDS, authRequest } from '../support/auth.js'

const REGION = { region: 'cn-hangzhou' }
const NOV_2026 = 'Wed, 25 Nov 2026 12:00:00 GMT'
const atNov2026 = { ...REGION, now: new Date('2026-11-25T12:00:00Z') }

void test('V1 vector 1 (Go v2 TestV1AuthHeader): StringToSign and signature match', () => {
  const headers = headerListFrom({
    'Content-MD5': 'eB5eJF1ptWaXm4bijSPyxw==',
    'Content-Type': 'text/html',
    'x-oss-date': 'Wed, 28 Dec 2022 10:27:41 GMT',
    'x-oss-meta-author': 'alice',
    'x-oss-meta-magic': 'abracadabra',
  })
  const bytes = v1StringToSign({
    method: 'PUT',
    contentMd5: 'eB5eJF1ptWaXm4bijSPyxw==',
    contentType: 'text/html',
    date: 'Wed, 28 Dec 2022 10:27:41 GMT',
    headers,
    resource: v1CanonicalResource('examplebucket', 'nelson', []),
  })
  assert.equal(
    bytes.toString('utf8'),
    'PUT\neB5eJF1ptWaXm4bijSPyxw==\ntext/html\nWed, 28 Dec 2022 10:27:41 GMT\nx-oss-date:Wed, 28 Dec 2022 10:27:41 GMT\nx-oss-meta-author:alice\nx-oss-meta-magic:abracadabra\n/examplebucket/nelson',
  )
  assert.equal(`OSS ak:${v1Signature('sk', bytes)}`, 'OSS ak:kSHKmLxlyEAKtZPkJhG9bZb5k7M=')
})

void test('V1 vector 1: verifyRequest accepts the Go v2 header-signed PUT', () => {
  const req = authRequest({
    method: 'PUT',
    bucket: 'examplebucket',
    key: 'nelson',
    headers: {
      'content-md5': 'eB5eJF1ptWaXm4bijSPyxw==',
      'content-type': 'text/html',
      'x-oss-date': 'Wed, 28 Dec 2022 10:27:41 GMT',
      'x-oss-meta-author': 'alice',
      'x-oss-meta-magic': 'abracadabra',
      authorization: 'OSS ak:kSHKmLxlyEAKtZPkJhG9bZb5k7M=',
    },
  })
  const result = verifyRequest(req, LOCAL_CREDS, { ...REGION, now: new Date('2022-12-28T10:30:00Z') })
  assert.deepEqual(result, { kind: 'signed', accessKeyId: 'ak', scheme: 'V1' })
})

void test('V1 vector 2 (Go v2 TestV1AuthQuery): presignV1 builds the exact URL query', () => {
  const query = presignV1({ method: 'GET', bucket: 'bucket', key: 'key', expires: 1699807420, subresources: { versionId: 'versionId' }, accessKeyId: 'ak', secret: 'sk' })
  assert.equal(query, 'Expires=1699807420&OSSAccessKeyId=ak&Signature=dcLTea%2BYh9ApirQ8o8dOPqtvJXQ%3D&versionId=versionId')
  assert.equal(v1Signature('sk', 'GET\n\n\n1699807420\n/bucket/key?versionId=versionId'), 'dcLTea+Yh9ApirQ8o8dOPqtvJXQ=')
})

void test('V1 vector 2: verifyRequest accepts the presigned URL before it expires', () => {
  const req = authRequest({ bucket: 'bucket', key: 'key', rawQuery: 'Expires=1699807420&OSSAccessKeyId=ak&Signature=dcLTea%2BYh9ApirQ8o8dOPqtvJXQ%3D&versionId=versionId' })
  const result = verifyRequest(req, LOCAL_CREDS, { ...REGION, now: new Date(1699807420 * 1000) })
  assert.deepEqual(result, { kind: 'signed', accessKeyId: 'ak', scheme: 'V1Query' })
})

void test('V1 vector 3: presigned StringToSign with security-token and key "key+123" signs as expected', () => {
  const resource = v1CanonicalResource('bucket', 'key+123', [['security-token', 'token'], ['versionId', 'versionId']])
  const bytes = v1StringToSign({ method: 'GET', contentMd5: '', contentType: '', date: '1699808204', headers: new Map(), resource })
  assert.equal(bytes.toString('utf8'), 'GET\n\n\n1699808204\n/bucket/key+123?security-token=token&versionId=versionId')
  assert.equal(v1Signature('sk', bytes), 'jzKYRrM5y6Br0dRFPaTGOsbrDhY=')
  const query = presignV1({ method: 'GET', bucket: 'bucket', key: 'key+123', expires: 1699808204, subresources: { 'security-token': 'token', versionId: 'versionId' }, accessKeyId: 'ak', secret: 'sk' })
  assert.match(query, /Signature=jzKYRrM5y6Br0dRFPaTGOsbrDhY%3D/)
})

void test('V1 vector 3: verifyRequest refuses a presigned URL with a security token as SecurityTokenUnsupported', () => {
  const req = authRequest({
    bucket: 'bucket',
    key: 'key+123',
    rawQuery: 'Expires=1699808204&OSSAccessKeyId=ak&Signature=jzKYRrM5y6Br0dRFPaTGOsbrDhY%3D&security-token=token&versionId=versionId',
  })
  assert.throws(() => verifyRequest(req, LOCAL_CREDS, { ...REGION, now: new Date(1699808000 * 1000) }), { reason: 'SecurityTokenUnsupported' })
})

void test('V1 vector 4: append request signs bare "append" and the decoded key "dir/a b+c.txt"', () => {
  const headers = { 'Content-Type': 'application/octet-stream', 'x-oss-date': NOV_2026 }
  const expected = `POST\n\napplication/octet-stream\n${NOV_2026}\nx-oss-date:${NOV_2026}\n/bkt1/dir/a b+c.txt?append&position=0`
  const bytes = v1StringToSign({
    method: 'POST',
    contentMd5: '',
    contentType: 'application/octet-stream',
    date: NOV_2026,
    headers: headerListFrom(headers),
    resource: v1CanonicalResource('bkt1', 'dir/a b+c.txt', [['append', undefined], ['position', '0']]),
  })
  assert.equal(bytes.toString('utf8'), expected)
  assert.equal(v1Signature('SECRETLOCAL', bytes), 's8FtQGMWPdeHanrPyrcexk6esl8=')
  const authorization = signV1({ method: 'POST', bucket: 'bkt1', key: 'dir/a b+c.txt', subresources: { append: '', position: '0' }, headers, secret: 'SECRETLOCAL', accessKeyId: 'AKIDLOCAL' })
  assert.equal(authorization, 'OSS AKIDLOCAL:s8FtQGMWPdeHanrPyrcexk6esl8=')
  const req = authRequest({ method: 'POST', bucket: 'bkt1', key: 'dir/a b+c.txt', rawQuery: 'append=&position=0', headers: { ...headers, Authorization: authorization } })
  assert.deepEqual(verifyRequest(req, LOCAL_CREDS, atNov2026), { kind: 'signed', accessKeyId: 'AKIDLOCAL', scheme: 'V1' })
})

void test('V1 vector 5: ListObjectsV2 signs continuation-token but not list-type or max-keys', () => {
  const req = authRequest({
    bucket: 'bkt1',
    rawQuery: 'list-type=2&continuation-token=CgJiYw--&max-keys=2',
    headers: { 'x-oss-date': NOV_2026, authorization: 'OSS AKIDLOCAL:SBrgUV1XbfvAHLF1LBqP9QEB9yA=' },
  })
  assert.equal(v1Signature('SECRETLOCAL', `GET\n\n\n${NOV_2026}\nx-oss-date:${NOV_2026}\n/bkt1/?continuation-token=CgJiYw--`), 'SBrgUV1XbfvAHLF1LBqP9QEB9yA=')
  assert.deepEqual(verifyRequest(req, LOCAL_CREDS, atNov2026), { kind: 'signed', accessKeyId: 'AKIDLOCAL', scheme: 'V1' })
})

void test('V1 vector 6: ListBuckets signs the resource "/"', () => {
  assert.equal(v1CanonicalResource(undefined, undefined, []), '/')
  assert.equal(v1Signature('SECRETLOCAL', `GET\n\n\n${NOV_2026}\nx-oss-date:${NOV_2026}\n/`), 'dnH9sT6u9pDqTzn32TdipzxQmC8=')
  const req = authRequest({ headers: { 'x-oss-date': NOV_2026, authorization: 'OSS AKIDLOCAL:dnH9sT6u9pDqTzn32TdipzxQmC8=' } })
  assert.deepEqual(verifyRequest(req, LOCAL_CREDS, atNov2026), { kind: 'signed', accessKeyId: 'AKIDLOCAL', scheme: 'V1' })
})

void test('v1CanonicalHeaders joins repeated x-oss headers with "," and trims each value', () => {
  const headers = new Map([
    ['x-oss-meta-b', [' 1 ', '2']],
    ['x-oss-meta-a', ['x']],
    ['content-type', ['text/plain']],
  ])
  assert.equal(v1CanonicalHeaders(headers), 'x-oss-meta-a:x\nx-oss-meta-b:1,2\n')
})

void test('v1CanonicalResource writes "/bucket/" for a bucket and sorts sub-resources', () => {
  assert.equal(v1CanonicalResource('b', undefined, []), '/b/')
  assert.equal(v1CanonicalResource('b', undefined, [['acl', undefined]]), '/b/?acl')
  assert.equal(v1CanonicalResource('b', 'k', [['uploads', undefined]], 'equals'), '/b/k?uploads=')
})
