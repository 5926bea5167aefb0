/** Addressing end to end (oss-api.md §2): path style, vhost, ali-oss IP endpoint, sldEnable, raw keys. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { signV1 } from '../../src/auth/sign.js'
import { aliApi } from '../support/ali-views.js'
import { ossClient, type Style } from '../support/oss-client.js'
import { assertOssError, xmlFields } from '../support/oss-assert.js'
import { raw, signed, xmlField, type RawResponse } from '../support/raw.js'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET, KEY_CTRL, KEY_DOTDOT, KEY_MAX, KEY_UTF8, startTestServer, type TestServer } from '../support/server.js'

/** A V1-signed request with an explicit Host and raw target; the signature covers bucket and key only. */
function hosted(server: TestServer, host: string, path: string, sign: { bucket?: string; key?: string; subresources?: Record<string, string> }, method = 'GET', body?: string): Promise<RawResponse> {
  const headers: Record<string, string> = { host, 'x-oss-date': new Date().toUTCString() }
  headers.authorization = signV1({
    method,
    ...(sign.bucket !== undefined ? { bucket: sign.bucket } : {}),
    ...(sign.key !== undefined ? { key: sign.key } : {}),
    subresources: sign.subresources ?? {},
    headers,
    secret: ACCESS_KEY_SECRET,
    accessKeyId: ACCESS_KEY_ID,
  })
  return raw(server, { method, path, headers, ...(body !== undefined ? { body } : {}) })
}

async function listKeys(server: TestServer, bucket: string): Promise<string[]> {
  const res = await signed(server, 'GET', bucket, undefined, { query: 'encoding-type=url' })
  return xmlFields(res.text, 'Key').map((k) => decodeURIComponent(k))
}

for (const style of ['ip', 'sld', 'vhost'] as const satisfies readonly Style[]) {
  for (const v4 of [false, true]) {
    void test(`ali-oss ${style} style (${v4 ? 'V4' : 'V1'}) puts, gets, lists and deletes hostile keys`, async (t) => {
      const server = await startTestServer(t)
      const client = ossClient(server, { bucket: `addr-${style}`, style, v4 })
      await aliApi(client).putBucket(`addr-${style}`)
      // Not `..`/`.` segments: ali-oss's URL handling resolves them before sending (raw tests below cover them).
      const keys = ['plain.txt', KEY_UTF8, KEY_CTRL, 'a//b', `addr-${style}/nested`]
      for (const key of keys) await client.put(key, Buffer.from(key))
      for (const key of keys) assert.equal(String((await client.get(key)).content), key, key)
      const listed = await aliApi(client).list({ 'max-keys': 100 })
      assert.deepEqual(listed.objects?.map((o) => o.name).sort(), [...keys].sort())
      assert.deepEqual((await listKeys(server, `addr-${style}`)).sort(), [...keys].sort(), 'keys stored verbatim, never resolved')
      for (const key of keys) await client.delete(key)
      assert.deepEqual(await listKeys(server, `addr-${style}`), [])
      const buckets = await aliApi(client).listBuckets({})
      assert.deepEqual(buckets.buckets?.map((b) => b.name), [`addr-${style}`])
    })
  }
}

void test('Path style reads /<bucket>/<key> on any host, percent-decoding the key once with + as a literal plus', async (t) => {
  const server = await startTestServer(t)
  assert.equal((await signed(server, 'PUT', 'paths', undefined)).status, 200)
  const put = await raw(server, { method: 'PUT', path: '/paths/a%2520b+c%2Fd', body: 'x', sign: { bucket: 'paths', key: 'a%20b+c/d' } })
  assert.equal(put.status, 200, put.text)
  assert.deepEqual(await listKeys(server, 'paths'), ['a%20b+c/d'])
  const other = await hosted(server, 'storage.example.net:9000', '/paths/a%2520b+c%2Fd', { bucket: 'paths', key: 'a%20b+c/d' })
  assert.equal(other.status, 200, other.text)
  assert.equal(other.text, 'x')
})

void test('Virtual-hosted bucket.localhost reads the bucket from Host and the whole path as the key', async (t) => {
  const server = await startTestServer(t)
  assert.equal((await hosted(server, `vh-bkt.localhost:${server.port}`, '/', { bucket: 'vh-bkt' }, 'PUT')).status, 200)
  const put = await hosted(server, `VH-BKT.LOCALHOST:${server.port}`, '/vh-bkt/inner', { bucket: 'vh-bkt', key: 'vh-bkt/inner' }, 'PUT', 'body')
  assert.equal(put.status, 200, put.text)
  assert.deepEqual(await listKeys(server, 'vh-bkt'), ['vh-bkt/inner'])
  const list = await hosted(server, 'vh-bkt.localhost', '/?prefix=vh', { bucket: 'vh-bkt' })
  assert.equal(xmlField(list.text, 'Name'), 'vh-bkt')
  assert.deepEqual(xmlFields(list.text, 'Key'), ['vh-bkt/inner'])
  const service = await hosted(server, `localhost:${server.port}`, '/', {})
  assert.deepEqual(xmlFields(service.text, 'Name'), ['vh-bkt'])
})

void test('ali-oss IP endpoint form: Host <bucket>.oss-cn-hangzhou.aliyuncs.com with /<key> addresses the bucket', async (t) => {
  const server = await startTestServer(t)
  const host = 'ipb.oss-cn-hangzhou.aliyuncs.com'
  assert.equal((await hosted(server, host, '/', { bucket: 'ipb' }, 'PUT')).status, 200)
  assert.equal((await hosted(server, host, '/k1', { bucket: 'ipb', key: 'k1' }, 'PUT', 'one')).status, 200)
  const got = await hosted(server, host, '/k1', { bucket: 'ipb', key: 'k1' })
  assert.equal(got.text, 'one')
  const internal = await hosted(server, 'ipb.oss-cn-hangzhou-internal.aliyuncs.com', '/k1', { bucket: 'ipb', key: 'k1' })
  assert.equal(internal.text, 'one')
})

void test('sldEnable form: bucket in Host and path reads path style; the reading whose signature verifies wins', async (t) => {
  const server = await startTestServer(t)
  const host = 'sldb.oss-cn-hangzhou.aliyuncs.com'
  assert.equal((await hosted(server, host, '/sldb/', { bucket: 'sldb' }, 'PUT')).status, 200)
  const asPath = await hosted(server, host, '/sldb/k', { bucket: 'sldb', key: 'k' }, 'PUT', 'path-style')
  assert.equal(asPath.status, 200, asPath.text)
  const asVhost = await hosted(server, host, '/sldb/k', { bucket: 'sldb', key: 'sldb/k' }, 'PUT', 'vhost-style')
  assert.equal(asVhost.status, 200, asVhost.text)
  assert.deepEqual(await listKeys(server, 'sldb'), ['k', 'sldb/k'])
  assert.equal((await signed(server, 'GET', 'sldb', 'k')).text, 'path-style')
  assert.equal((await signed(server, 'GET', 'sldb', 'sldb/k')).text, 'vhost-style')
  const neither = await raw(server, { path: '/sldb/k', headers: { host, 'x-oss-date': new Date().toUTCString(), authorization: `OSS ${ACCESS_KEY_ID}:AAAAAAAAAAAAAAAAAAAAAAAAAAA=` } })
  assertOssError(neither, 403, 'SignatureDoesNotMatch')
})

void test('Service call with Host .oss-cn-hangzhou.aliyuncs.com (empty bucket label) is ListBuckets', async (t) => {
  const server = await startTestServer(t)
  assert.equal((await signed(server, 'PUT', 'svc-one', undefined)).status, 200)
  const res = await hosted(server, '.oss-cn-hangzhou.aliyuncs.com', '/', {})
  assert.equal(res.status, 200, res.text)
  assert.match(res.text, /<ListAllMyBucketsResult>/)
  assert.deepEqual(xmlFields(res.text, 'Name'), ['svc-one'])
})

void test('Dot segments and double slashes in the raw target stay part of the key, path style and vhost', async (t) => {
  const server = await startTestServer(t)
  assert.equal((await signed(server, 'PUT', 'dots', undefined)).status, 200)
  const keys = [KEY_DOTDOT, 'a/./b', 'a//b', 'a/../../../b', './x', 'trail/.', 'trail/..']
  for (const key of keys) {
    const res = await raw(server, { method: 'PUT', path: `/dots/${key}`, body: `p:${key}`, sign: { bucket: 'dots', key } })
    assert.equal(res.status, 200, `${key}: ${res.text}`)
  }
  assert.deepEqual((await listKeys(server, 'dots')).sort(), [...keys].sort())
  for (const key of keys) {
    const got = await hosted(server, `dots.localhost:${server.port}`, `/${key}`, { bucket: 'dots', key })
    assert.equal(got.text, `p:${key}`, key)
  }
  const escaped = await raw(server, { path: '/dots/..%2F..%2Fetc%2Fpasswd', sign: { bucket: 'dots', key: KEY_DOTDOT } })
  assert.equal(escaped.text, `p:${KEY_DOTDOT}`)
})

void test('An absolute-form request target keeps only its path', async (t) => {
  const server = await startTestServer(t)
  assert.equal((await signed(server, 'PUT', 'absform', undefined)).status, 200)
  const res = await raw(server, { method: 'PUT', path: `http://127.0.0.1:${server.port}/absform/x/../y`, body: 'abs', sign: { bucket: 'absform', key: 'x/../y' } })
  assert.equal(res.status, 200, res.text)
  assert.deepEqual(await listKeys(server, 'absform'), ['x/../y'])
})

void test('Object keys of 1023 bytes and control characters work; 1024 bytes answers 400 InvalidObjectName', async (t) => {
  const server = await startTestServer(t)
  assert.equal((await signed(server, 'PUT', 'keylen', undefined)).status, 200)
  assert.equal((await signed(server, 'PUT', 'keylen', KEY_MAX, { body: 'm' })).status, 200)
  assert.equal((await signed(server, 'PUT', 'keylen', KEY_CTRL, { body: 'c' })).status, 200)
  const long = await signed(server, 'PUT', 'keylen', `${KEY_MAX}k`, { body: 'x' })
  assertOssError(long, 400, 'InvalidObjectName')
  assert.equal(xmlField(long.text, 'Message'), 'The Length of Object name must be less than 1024.')
  assert.deepEqual((await listKeys(server, 'keylen')).sort(), [KEY_CTRL, KEY_MAX].sort())
})
