/**
 * Successful fills (mirror-rules.md B1, B7, B9): through ali-oss V1 and V4, what is stored and
 * saved, the MIRROR tag's lifetime, key rewrites, ranges on a miss, and a 100 MiB streamed fill.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { request } from 'node:http'
import { test } from 'node:test'
import type OSS from 'ali-oss'
import { xmlFields } from '../support/oss-assert.js'
import { etagOf, crcOf } from '../support/object-http.js'
import { ossClient } from '../support/oss-client.js'
import { bigByte, startOrigin } from '../support/origin.js'
import { signed, xmlField } from '../support/raw.js'
import { mirrorBucket, eventually, listKeys, signedGetHeaders } from '../support/mirror.js'
import { startTestServer, type TestServer } from '../support/server.js'

type Headers = Readonly<Record<string, string | undefined>>
function headersOf(res: { res: { headers: object } }): Headers {
  return res.res.headers as Headers
}

/** The bytes [start, end] of a 'big' origin body. */
function bigSlice(start: number, end: number): Buffer {
  return Buffer.from(Array.from({ length: end - start + 1 }, (_, i) => bigByte(start + i)))
}

for (const v4 of [false, true]) {
  void test(`GetObject through ali-oss ${v4 ? 'V4' : 'V1'} fills a miss from the origin, stores it, and serves the next GET locally with x-oss-tag: MIRROR`, async (t) => {
    const origin = await startOrigin(t)
    const body = Buffer.from(`origin bytes for ${v4 ? 'v4' : 'v1'}\n`)
    origin.setRoute('/docs/a.txt', { mode: 'ok', body, headers: { 'content-type': 'text/plain' } })
    const server = await startTestServer(t, { mirrorAllowPrivate: true })
    const bucket = v4 ? 'fill-v4' : 'fill-v1'
    await mirrorBucket(server, bucket, [{ url: origin.url }])
    const client: OSS = ossClient(server, { bucket, v4 })

    const first = await client.get('docs/a.txt')
    assert.deepEqual(first.content, body)
    assert.equal(headersOf(first)['x-oss-tag'], 'MIRROR')
    assert.equal(headersOf(first)['content-type'], 'text/plain')
    assert.equal(headersOf(first).etag, etagOf(body))

    const second = await client.get('docs/a.txt')
    assert.deepEqual(second.content, body)
    assert.equal(headersOf(second)['x-oss-tag'], 'MIRROR')
    assert.equal(origin.hits('/docs/a.txt'), 1)

    const head = await client.head('docs/a.txt')
    assert.equal(headersOf(head)['x-oss-tag'], 'MIRROR')
    assert.equal(headersOf(head)['content-length'], String(body.length))
    assert.equal(headersOf(head)['x-oss-hash-crc64ecma'], crcOf(body))
    const listed = await client.list({ prefix: 'docs/', 'max-keys': 100 }, {})
    assert.deepEqual(
      (listed.objects ?? []).map((o) => [o.name, o.size, o.etag]),
      [['docs/a.txt', body.length, etagOf(body)]],
    )
  })
}

void test('a filled object keeps the saved headers of B9 and nothing else of the origin', async (t) => {
  const origin = await startOrigin(t)
  const headers = {
    'content-type': 'text/html; charset=utf-8',
    'content-encoding': 'gzip',
    'content-disposition': 'attachment; filename="a.html"',
    'cache-control': 'max-age=60',
    expires: 'Wed, 21 Oct 2037 07:28:00 GMT',
    'content-language': 'en',
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET, PUT',
    'set-cookie': 'session=secret',
    location: '/elsewhere',
    'x-oss-meta-color': 'blue',
    'x-oss-server-side-encryption': 'AES256',
    'x-oss-storage-class': 'Archive',
    'x-oss-object-type': 'Appendable',
    'x-origin-private': 'yes',
    'last-modified': 'Mon, 01 Jan 2001 00:00:00 GMT',
  }
  const body = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03])
  origin.setRoute('/plain', { mode: 'ok', body, headers })
  origin.setRoute('/meta', { mode: 'ok', body, headers: { ...headers, 'x-oss-meta-bad_name': 'dropped' } })
  origin.setRoute('/lm', { mode: 'ok', body, headers })
  origin.setRoute('/notype', { mode: 'ok', body: 'x' })
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'meta', [
    { number: 1, prefix: 'meta', url: origin.url, redirect: '<MirrorSaveOssMeta>true</MirrorSaveOssMeta>' },
    { number: 2, prefix: 'lm', url: origin.url, redirect: '<MirrorUserLastModified>true</MirrorUserLastModified>' },
    { number: 3, url: origin.url },
  ])
  const before = Date.now() - 2000

  for (const key of ['plain', 'meta', 'lm']) {
    const filled = await signed(server, 'GET', 'meta', key)
    assert.equal(filled.status, 200, filled.text)
    assert.deepEqual(filled.body, body, 'the body is stored as received, never decoded')
    for (const res of [filled, await signed(server, 'GET', 'meta', key), await signed(server, 'HEAD', 'meta', key)]) {
      const h = res.headers
      assert.equal(h['content-type'], 'text/html; charset=utf-8')
      assert.equal(h['content-encoding'], 'gzip')
      assert.equal(h['content-disposition'], 'attachment; filename="a.html"')
      assert.equal(h['cache-control'], 'max-age=60')
      assert.equal(h.expires, 'Wed, 21 Oct 2037 07:28:00 GMT')
      assert.equal(h['content-language'], 'en')
      assert.equal(h['access-control-allow-origin'], '*')
      assert.equal(h['access-control-allow-methods'], undefined)
      assert.equal(h['set-cookie'], undefined)
      assert.equal(h.location, undefined)
      assert.equal(h['x-oss-server-side-encryption'], undefined)
      assert.equal(h['x-oss-storage-class'], 'Standard')
      assert.equal(h['x-oss-object-type'], 'Normal')
      assert.equal(h['x-origin-private'], undefined)
      assert.equal(h['x-oss-tag'], 'MIRROR')
      assert.equal(h.etag, etagOf(body))
      assert.equal(h['x-oss-meta-color'], key === 'meta' ? 'blue' : undefined)
      assert.equal(h['x-oss-meta-bad_name'], undefined)
      const lm = Date.parse(String(h['last-modified']))
      if (key === 'lm') assert.equal(lm, Date.parse('Mon, 01 Jan 2001 00:00:00 GMT'))
      else assert.ok(lm >= before, `Last-Modified ${String(h['last-modified'])} is the store time`)
    }
  }
  const noType = await signed(server, 'GET', 'meta', 'notype')
  assert.equal(noType.headers['content-type'], 'application/octet-stream')
})

void test('x-oss-tag: MIRROR stays until a put, a copy onto itself or a multipart complete replaces the key; a copy to another key has no tag', async (t) => {
  const origin = await startOrigin(t)
  for (const k of ['put', 'self', 'mpu', 'src']) origin.setRoute(`/${k}`, { mode: 'ok', body: `origin ${k}` })
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'tags', [{ url: origin.url }])
  const client = ossClient(server, { bucket: 'tags' })
  for (const k of ['put', 'self', 'mpu', 'src']) assert.equal(headersOf(await client.get(k))['x-oss-tag'], 'MIRROR')

  await client.put('put', Buffer.from('client bytes'))
  const put = await client.get('put')
  assert.equal(put.content.toString(), 'client bytes')
  assert.equal(headersOf(put)['x-oss-tag'], undefined)

  await client.copy('self', 'self', { meta: { a: '1' } } as never)
  const self = await client.head('self')
  assert.equal(headersOf(self)['x-oss-tag'], undefined)
  assert.equal(headersOf(self)['x-oss-meta-a'], '1')

  await client.copy('copied', 'src')
  assert.equal(headersOf(await client.head('copied'))['x-oss-tag'], undefined)
  assert.equal(headersOf(await client.head('src'))['x-oss-tag'], 'MIRROR')

  const init = await signed(server, 'POST', 'tags', 'mpu', { query: 'uploads', subresources: { uploads: '' } })
  const uploadId = xmlField(init.text, 'UploadId') ?? ''
  const part = await signed(server, 'PUT', 'tags', 'mpu', { query: `partNumber=1&uploadId=${uploadId}`, subresources: { partNumber: '1', uploadId }, body: 'multipart bytes' })
  assert.equal(part.status, 200, part.text)
  const done = await signed(server, 'POST', 'tags', 'mpu', {
    query: `uploadId=${uploadId}`,
    subresources: { uploadId },
    body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${String(part.headers.etag)}</ETag></Part></CompleteMultipartUpload>`,
  })
  assert.equal(done.status, 200, done.text)
  const mpu = await signed(server, 'GET', 'tags', 'mpu')
  assert.equal(mpu.text, 'multipart bytes')
  assert.equal(mpu.headers['x-oss-tag'], undefined)
  for (const k of ['put', 'self', 'mpu', 'src']) assert.equal(origin.hits(`/${k}`), 1)
})

void test('a rewritten origin key (ReplaceKeyWith, ReplaceKeyPrefixWith) is fetched but the object is stored under the client key', async (t) => {
  const origin = await startOrigin(t)
  origin.setRoute('/v2/whole/x.txt', { mode: 'ok', body: 'whole rewrite' })
  origin.setRoute('/images/y.png', { mode: 'ok', body: 'prefix rewrite' })
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'rewrite', [
    { number: 1, prefix: 'whole/', url: origin.url, redirect: '<ReplaceKeyWith>v2/${key}</ReplaceKeyWith>' },
    { number: 2, prefix: 'img/', url: origin.url, redirect: '<ReplaceKeyPrefixWith>images/</ReplaceKeyPrefixWith>' },
  ])
  assert.equal((await signed(server, 'GET', 'rewrite', 'whole/x.txt')).text, 'whole rewrite')
  assert.equal((await signed(server, 'GET', 'rewrite', 'img/y.png')).text, 'prefix rewrite')
  assert.deepEqual(await listKeys(server, 'rewrite'), ['img/y.png', 'whole/x.txt'])
  assert.equal((await signed(server, 'GET', 'rewrite', 'whole/x.txt')).text, 'whole rewrite')
  assert.equal(origin.hits('/v2/whole/x.txt'), 1)
  assert.equal(origin.hits('/images/y.png'), 1)
})

void test('a Range GET on a miss answers 206 with those bytes, sends no Range to the origin, and stores the whole object', async (t) => {
  const origin = await startOrigin(t)
  origin.setRoute('/small', { mode: 'ok', body: 'abcdefghij' })
  const big = 3 * 1024 * 1024
  origin.setRoute('/large', { mode: 'slow', body: bigSlice(0, big - 1), chunkSize: 256 * 1024, delayMs: 10 })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: '1MiB' })
  await mirrorBucket(server, 'ranges', [{ url: origin.url }])

  const small = await signed(server, 'GET', 'ranges', 'small', { headers: { range: 'bytes=2-5' } })
  assert.equal(small.status, 206)
  assert.equal(small.text, 'cdef')
  assert.equal(small.headers['content-range'], 'bytes 2-5/10')
  assert.equal((await signed(server, 'GET', 'ranges', 'small')).text, 'abcdefghij')

  const start = 1024 * 1024 - 5
  const large = await signed(server, 'GET', 'ranges', 'large', { headers: { range: `bytes=${start}-${start + 10}` } })
  assert.equal(large.status, 206)
  assert.equal(large.headers['content-range'], `bytes ${start}-${start + 10}/${big}`)
  assert.deepEqual(large.body, bigSlice(start, start + 10))
  await eventually(async () => (await signed(server, 'HEAD', 'ranges', 'large')).status === 200, 20_000, 'the large fill to commit')
  const whole = await signed(server, 'GET', 'ranges', 'large')
  assert.equal(whole.body.length, big)
  assert.ok(whole.body.equals(bigSlice(0, big - 1)))
  for (const path of ['/small', '/large']) {
    assert.equal(origin.hits(path), 1)
    assert.equal(origin.requests(path)[0]?.headers.range, undefined)
  }
})

void test('an unsatisfiable Range on a miss is answered as for a stored object (200 whole by default, 416 with standard behaviour) and the object is stored', async (t) => {
  const origin = await startOrigin(t)
  origin.setRoute('/legacy', { mode: 'ok', body: 'abcdefghij' })
  origin.setRoute('/standard', { mode: 'ok', body: 'abcdefghij' })
  const big = 2 * 1024 * 1024
  origin.setRoute('/standard-large', { mode: 'big', size: big })
  origin.setRoute('/legacy-large', { mode: 'big', size: big })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: '1MiB' })
  await mirrorBucket(server, 'unsat', [{ url: origin.url }])

  const legacy = await signed(server, 'GET', 'unsat', 'legacy', { headers: { range: 'bytes=100-200' } })
  assert.equal(legacy.status, 200)
  assert.equal(legacy.text, 'abcdefghij')
  const standard = await signed(server, 'GET', 'unsat', 'standard', { headers: { range: 'bytes=100-200', 'x-oss-range-behavior': 'standard' } })
  assert.equal(standard.status, 416, standard.text)
  assert.equal(xmlField(standard.text, 'Code'), 'InvalidRange')
  const legacyLarge = await signed(server, 'GET', 'unsat', 'legacy-large', { headers: { range: `bytes=${big}-` } })
  assert.equal(legacyLarge.status, 200)
  assert.equal(legacyLarge.body.length, big)
  const standardLarge = await signed(server, 'GET', 'unsat', 'standard-large', { headers: { range: `bytes=${big}-`, 'x-oss-range-behavior': 'standard' } })
  assert.equal(standardLarge.status, 416, standardLarge.text)
  await eventually(async () => (await listKeys(server, 'unsat')).length === 4, 20_000, 'all four fills to commit')
  assert.equal((await signed(server, 'GET', 'unsat', 'standard')).text, 'abcdefghij')
  for (const k of ['legacy', 'standard', 'legacy-large', 'standard-large']) assert.equal(origin.hits(`/${k}`), 1)
})

/** Streams a signed GET, checking each byte against the 'big' pattern; returns size and MD5 (hex). */
function streamBigGet(server: TestServer, bucket: string, key: string, onChunk: () => void): Promise<{ status: number; size: number; md5: string; mismatch: number | undefined }> {
  const headers = signedGetHeaders(bucket, key)
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: `/${bucket}/${key}`, headers }, (res) => {
      const md5 = createHash('md5')
      let size = 0
      let mismatch: number | undefined
      res.on('data', (chunk: Buffer) => {
        for (let i = 0; mismatch === undefined && i < chunk.length; i += 4093) if (chunk[i] !== bigByte(size + i)) mismatch = size + i
        md5.update(chunk)
        size += chunk.length
        onChunk()
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, size, md5: md5.digest('hex'), mismatch }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

void test('a 100 MiB origin body streams through and is stored while server memory stays bounded', { timeout: 120_000 }, async (t) => {
  const size = 100 * 1024 * 1024
  const origin = await startOrigin(t)
  origin.setRoute('/huge.bin', { mode: 'big', size })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: '8MiB' })
  await mirrorBucket(server, 'big', [{ url: origin.url }])
  const baseline = process.memoryUsage().rss
  let peak = baseline
  const got = await streamBigGet(server, 'big', 'huge.bin', () => {
    peak = Math.max(peak, process.memoryUsage().rss)
  })
  assert.equal(got.status, 200)
  assert.equal(got.size, size)
  assert.equal(got.mismatch, undefined)
  const growth = peak - baseline
  t.diagnostic(`peak rss growth ${Math.round(growth / 1024 / 1024)} MiB`)
  // The origin, the server and this client share the process: a buffered body alone would be 100+ MiB.
  assert.ok(growth < 100 * 1024 * 1024, `rss grew by ${Math.round(growth / 1024 / 1024)} MiB`)

  await eventually(async () => (await signed(server, 'HEAD', 'big', 'huge.bin')).status === 200, 30_000, 'the fill to commit')
  const head = await signed(server, 'HEAD', 'big', 'huge.bin')
  assert.equal(head.headers['content-length'], String(size))
  assert.equal(head.headers.etag, `"${got.md5.toUpperCase()}"`)
  assert.equal(head.headers['x-oss-tag'], 'MIRROR')
  const again = await streamBigGet(server, 'big', 'huge.bin', () => undefined)
  assert.equal(again.md5, got.md5)
  assert.equal(origin.hits('/huge.bin'), 1)
  assert.deepEqual(xmlFields((await signed(server, 'GET', 'big', undefined)).text, 'Size'), [String(size)])
})
