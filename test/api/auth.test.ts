/** Authentication over HTTP: V1 and V4 header auth, presigned URLs, and every auth failure's wire form. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { presignV1, presignV4, signV1, signV4 } from '../../src/auth/sign.js'
import { aliApi } from '../support/ali-views.js'
import { ossClient } from '../support/oss-client.js'
import { assertOssError } from '../support/oss-assert.js'
import { raw, signed, xmlField, type RawResponse } from '../support/raw.js'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET, startTestServer, type TestServer } from '../support/server.js'

const SIGNATURE_MISMATCH = 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'

/** Sends a request to a URL an SDK built, to the test server, keeping its Host and raw target. */
function fetchUrl(server: TestServer, url: string, options: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const m = /^https?:\/\/([^/]+)(\/.*)$/.exec(url)
  assert.ok(m !== null, url)
  return raw(server, {
    method: options.method ?? 'GET',
    path: m[2] ?? '/',
    headers: { host: m[1] ?? '', ...(options.headers ?? {}) },
    ...(options.body !== undefined ? { body: options.body } : {}),
  })
}

/** A V4 header-signed raw request (path style). */
function v4Raw(
  server: TestServer,
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  options: { date?: Date; secret?: string; accessKeyId?: string; region?: string; query?: Record<string, string>; body?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const query = options.query ?? {}
  const { authorization, headers } = signV4({
    method,
    ...(bucket !== undefined ? { bucket } : {}),
    ...(key !== undefined ? { key } : {}),
    query,
    headers: options.headers ?? {},
    accessKeyId: options.accessKeyId ?? ACCESS_KEY_ID,
    secret: options.secret ?? ACCESS_KEY_SECRET,
    region: options.region ?? 'cn-hangzhou',
    date: options.date ?? new Date(),
  })
  const qs = Object.entries(query)
    .map(([k, v]) => (v === '' ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
    .join('&')
  const path = `/${bucket ?? ''}${bucket !== undefined ? '/' : ''}${key !== undefined ? key.split('/').map(encodeURIComponent).join('/') : ''}${qs !== '' ? `?${qs}` : ''}`
  return raw(server, { method, path, headers: { ...headers, authorization }, ...(options.body !== undefined ? { body: options.body } : {}) })
}

async function withObject(server: TestServer, bucket: string, key: string, body = 'hello'): Promise<void> {
  assert.equal((await signed(server, 'PUT', bucket, undefined)).status, 200)
  assert.equal((await signed(server, 'PUT', bucket, key, { body })).status, 200)
}

for (const v4 of [false, true]) {
  const name = v4 ? 'V4' : 'V1'
  void test(`${name} header auth through ali-oss creates a bucket, puts, gets, lists and deletes an object`, async (t) => {
    const server = await startTestServer(t)
    const client = ossClient(server, { bucket: 'auth-ok', v4 })
    await aliApi(client).putBucket('auth-ok')
    const key = 'dir/a b+c&d.txt'
    await client.put(key, Buffer.from('payload'), { headers: { 'x-oss-meta-who': 'me' } })
    const got = await client.get(key)
    assert.equal(String(got.content), 'payload')
    const listed = await aliApi(client).list({ prefix: 'dir/', 'max-keys': 10 })
    assert.deepEqual(listed.objects?.map((o) => o.name), [key])
    const v2 = await aliApi(client).listV2({ 'max-keys': 1 })
    assert.equal(v2.keyCount, 1)
    await client.delete(key)
    await aliApi(client).deleteBucket('auth-ok')
  })
}

void test('V1 with a wrong secret answers 403 SignatureDoesNotMatch with StringToSign, its bytes and EC 0002-00000040', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'sig1', 'k')
  const res = await raw(server, { path: '/sig1/k', sign: { bucket: 'sig1', key: 'k', secret: 'wrong-secret' } })
  assertOssError(res, 403, 'SignatureDoesNotMatch')
  assert.equal(xmlField(res.text, 'Message'), SIGNATURE_MISMATCH)
  assert.equal(xmlField(res.text, 'EC'), '0002-00000040')
  assert.equal(res.headers['x-oss-ec'], '0002-00000040')
  assert.equal(xmlField(res.text, 'OSSAccessKeyId'), ACCESS_KEY_ID)
  const sts = xmlField(res.text, 'StringToSign') ?? ''
  assert.match(sts, /^GET\n\n\n.+\nx-oss-date:.+\n\/sig1\/k$/)
  assert.equal(xmlField(res.text, 'StringToSignBytes'), Buffer.from(sts).toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1 '))
  assert.doesNotMatch(res.text, new RegExp(ACCESS_KEY_SECRET))

  const client = ossClient(server, { bucket: 'sig1', secret: 'wrong-secret' })
  await assert.rejects(client.get('k'), { code: 'SignatureDoesNotMatch', status: 403 })
})

void test('V4 with a wrong secret answers 403 SignatureDoesNotMatch with StringToSign and EC 0002-00000201', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'sig4', 'k')
  const res = await v4Raw(server, 'GET', 'sig4', 'k', { secret: 'wrong-secret' })
  assertOssError(res, 403, 'SignatureDoesNotMatch')
  assert.equal(xmlField(res.text, 'EC'), '0002-00000201')
  assert.equal(res.headers['x-oss-ec'], '0002-00000201')
  assert.match(xmlField(res.text, 'StringToSign') ?? '', /^OSS4-HMAC-SHA256\n\d{8}T\d{6}Z\n\d{8}\/cn-hangzhou\/oss\/aliyun_v4_request\n[0-9a-f]{64}$/)
  assert.doesNotMatch(res.text, new RegExp(ACCESS_KEY_SECRET))

  const client = ossClient(server, { bucket: 'sig4', secret: 'wrong-secret', v4: true })
  await assert.rejects(client.get('k'), { code: 'SignatureDoesNotMatch', status: 403 })
})

void test('An unknown AccessKeyId answers 403 InvalidAccessKeyId naming the key, in V1, V4 and presigned forms', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'akid', 'k')
  const v1 = await raw(server, { path: '/akid/k', sign: { bucket: 'akid', key: 'k', accessKeyId: 'NOBODY' } })
  assertOssError(v1, 403, 'InvalidAccessKeyId')
  assert.equal(xmlField(v1.text, 'OSSAccessKeyId'), 'NOBODY')
  assertOssError(await v4Raw(server, 'GET', 'akid', 'k', { accessKeyId: 'NOBODY' }), 403, 'InvalidAccessKeyId')
  const q = presignV1({ method: 'GET', bucket: 'akid', key: 'k', expires: Date.now() / 1000 + 600, accessKeyId: 'NOBODY', secret: 'x' })
  assertOssError(await raw(server, { path: `/akid/k?${q}` }), 403, 'InvalidAccessKeyId')
  await assert.rejects(ossClient(server, { bucket: 'akid', accessKeyId: 'NOBODY' }).get('k'), { code: 'InvalidAccessKeyId', status: 403 })
})

void test('Anonymous requests on a private bucket answer 403 AccessDenied for objects and listings', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'private-b', 'k')
  for (const [method, path] of [['GET', '/private-b/k'], ['HEAD', '/private-b/k'], ['PUT', '/private-b/new'], ['DELETE', '/private-b/k'], ['GET', '/private-b/']] as const) {
    const res = await raw(server, { method, path, ...(method === 'PUT' ? { body: 'x' } : {}) })
    assert.equal(res.status, 403, `${method} ${path}`)
    if (method === 'HEAD') {
      assert.equal(res.body.length, 0)
      const err = Buffer.from(String(res.headers['x-oss-err']), 'base64').toString('utf8')
      assert.equal(xmlField(err, 'Code'), 'AccessDenied')
    } else {
      assertOssError(res, 403, 'AccessDenied')
    }
  }
  const got = await signed(server, 'GET', 'private-b', 'k')
  assert.equal(got.text, 'hello', 'nothing was deleted or written')
})

void test('A request more than 15 minutes off the server clock answers 403 RequestTimeTooSkewed, V1 and V4', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'skew', 'k')
  for (const offset of [-16 * 60_000, 16 * 60_000]) {
    const date = new Date(Date.now() + offset)
    const v1 = await raw(server, { path: '/skew/k', headers: { 'x-oss-date': date.toUTCString() }, sign: { bucket: 'skew', key: 'k' } })
    assertOssError(v1, 403, 'RequestTimeTooSkewed')
    assert.equal(xmlField(v1.text, 'Message'), 'The difference between the request time and the current time is too large.')
    assertOssError(await v4Raw(server, 'GET', 'skew', 'k', { date }), 403, 'RequestTimeTooSkewed')
  }
  const near = new Date(Date.now() - 10 * 60_000)
  assert.equal((await raw(server, { path: '/skew/k', headers: { 'x-oss-date': near.toUTCString() }, sign: { bucket: 'skew', key: 'k' } })).status, 200)
  assert.equal((await v4Raw(server, 'GET', 'skew', 'k', { date: near })).status, 200)
})

void test('V1 header auth without a valid date answers 403 AccessDenied "OSS authentication requires a valid Date."', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'nodate', 'k')
  const headers = { 'x-oss-date': 'yesterday' }
  const authorization = signV1({ method: 'GET', bucket: 'nodate', key: 'k', headers, secret: ACCESS_KEY_SECRET, accessKeyId: ACCESS_KEY_ID })
  const res = await raw(server, { path: '/nodate/k', headers: { ...headers, authorization } })
  assertOssError(res, 403, 'AccessDenied')
  assert.equal(xmlField(res.text, 'Message'), 'OSS authentication requires a valid Date.')
})

void test('Presigned V1 URLs from ali-oss signatureUrl work for GET and PUT', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'pre1', 'dir/a b+c.txt', 'signed body')
  const client = ossClient(server, { bucket: 'pre1', style: 'vhost' })
  const getUrl = client.signatureUrl('dir/a b+c.txt', { expires: 600 })
  const got = await fetchUrl(server, getUrl)
  assert.equal(got.status, 200, got.text)
  assert.equal(got.text, 'signed body')

  const putUrl = client.signatureUrl('uploaded.txt', { method: 'PUT', expires: 600, 'Content-Type': 'text/plain' })
  const put = await fetchUrl(server, putUrl, { method: 'PUT', body: 'via url', headers: { 'content-type': 'text/plain' } })
  assert.equal(put.status, 200, put.text)
  assert.equal((await signed(server, 'GET', 'pre1', 'uploaded.txt')).text, 'via url')

  // The URL signs the method and Content-Type: a different one does not verify.
  const wrongType = await fetchUrl(server, putUrl, { method: 'PUT', body: 'x', headers: { 'content-type': 'image/png' } })
  assertOssError(wrongType, 403, 'SignatureDoesNotMatch')
})

void test('Presigned V4 URLs from ali-oss signatureUrlV4 work for GET and PUT', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'pre4', 'dir/a b+c.txt', 'v4 body')
  const client = ossClient(server, { bucket: 'pre4', style: 'sld', v4: true })
  const getUrl = await client.signatureUrlV4('GET', 600, undefined, 'dir/a b+c.txt')
  const got = await fetchUrl(server, getUrl)
  assert.equal(got.status, 200, got.text)
  assert.equal(got.text, 'v4 body')

  const putUrl = await client.signatureUrlV4('PUT', 600, { headers: { 'Content-Type': 'text/plain' } }, 'up4.txt')
  const put = await fetchUrl(server, putUrl, { method: 'PUT', body: 'v4 upload', headers: { 'content-type': 'text/plain' } })
  assert.equal(put.status, 200, put.text)
  assert.equal((await signed(server, 'GET', 'pre4', 'up4.txt')).text, 'v4 upload')

  const asDelete = await fetchUrl(server, getUrl, { method: 'DELETE' })
  assertOssError(asDelete, 403, 'SignatureDoesNotMatch')
  assert.equal((await signed(server, 'GET', 'pre4', 'dir/a b+c.txt')).status, 200)
})

void test('An expired presigned URL answers 403 AccessDenied "Request has expired.", V1 and V4', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'expired', 'k')
  const v1 = presignV1({ method: 'GET', bucket: 'expired', key: 'k', expires: Date.now() / 1000 - 5, accessKeyId: ACCESS_KEY_ID, secret: ACCESS_KEY_SECRET })
  const r1 = await raw(server, { path: `/expired/k?${v1}` })
  assertOssError(r1, 403, 'AccessDenied')
  assert.equal(xmlField(r1.text, 'Message'), 'Request has expired.')
  assert.equal(xmlField(r1.text, 'EC'), '0002-00000069')

  const v4 = presignV4({
    method: 'GET',
    bucket: 'expired',
    key: 'k',
    accessKeyId: ACCESS_KEY_ID,
    secret: ACCESS_KEY_SECRET,
    region: 'cn-hangzhou',
    date: new Date(Date.now() - 3600_000),
    expiresSeconds: 60,
  })
  const r4 = await raw(server, { path: `/expired/k?${v4}` })
  assertOssError(r4, 403, 'AccessDenied')
  assert.equal(xmlField(r4.text, 'Message'), 'Request has expired.')

  const fresh = presignV1({ method: 'GET', bucket: 'expired', key: 'k', expires: Date.now() / 1000 + 60, accessKeyId: ACCESS_KEY_ID, secret: ACCESS_KEY_SECRET })
  assert.equal((await raw(server, { path: `/expired/k?${fresh}` })).status, 200)
})

void test('Header auth and query auth together answer 400 InvalidArgument', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'both', 'k')
  const q1 = presignV1({ method: 'GET', bucket: 'both', key: 'k', expires: Date.now() / 1000 + 600, accessKeyId: ACCESS_KEY_ID, secret: ACCESS_KEY_SECRET })
  const res = await raw(server, { path: `/both/k?${q1}`, sign: { bucket: 'both', key: 'k' } })
  assertOssError(res, 400, 'InvalidArgument')
  assert.equal(xmlField(res.text, 'Message'), 'Authorization header and query-string authentication cannot be used together.')
  const q4 = presignV4({ method: 'GET', bucket: 'both', key: 'k', accessKeyId: ACCESS_KEY_ID, secret: ACCESS_KEY_SECRET, region: 'cn-hangzhou', date: new Date(), expiresSeconds: 60 })
  assertOssError(await raw(server, { path: `/both/k?${q4}`, sign: { bucket: 'both', key: 'k' } }), 400, 'InvalidArgument')
})

void test('A malformed or foreign Authorization header answers 400 InvalidArgument "Authorization header is invalid."', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'badauth', 'k')
  for (const authorization of ['OSS', 'OSS nocolon', 'AWS4-HMAC-SHA256 Credential=x', 'Bearer token', 'OSS4-HMAC-SHA256 garbage']) {
    const res = await raw(server, { path: '/badauth/k', headers: { authorization, 'x-oss-date': new Date().toUTCString() } })
    assertOssError(res, 400, 'InvalidArgument')
  }
})

void test('V4 signed for another region answers 400 InvalidArgument with EC 0002-00000226', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'region', 'k')
  const res = await v4Raw(server, 'GET', 'region', 'k', { region: 'cn-beijing' })
  assertOssError(res, 400, 'InvalidArgument')
  assert.equal(xmlField(res.text, 'Message'), 'Invalid signing region in Authorization header.')
  assert.equal(xmlField(res.text, 'EC'), '0002-00000226')
})

void test('V1 presigned URL with a missing Signature or a non-numeric Expires answers 403 AccessDenied', async (t) => {
  const server = await startTestServer(t)
  await withObject(server, 'partial', 'k')
  const missing = await raw(server, { path: `/partial/k?OSSAccessKeyId=${ACCESS_KEY_ID}&Expires=9999999999` })
  assertOssError(missing, 403, 'AccessDenied')
  assert.equal(xmlField(missing.text, 'EC'), '0002-00000068')
  const badExpires = await raw(server, { path: `/partial/k?OSSAccessKeyId=${ACCESS_KEY_ID}&Expires=soon&Signature=abc` })
  assertOssError(badExpires, 403, 'AccessDenied')
})
