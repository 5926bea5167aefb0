/**
 * Object operations on the wire, where exact status, headers and bytes matter: stored headers,
 * user metadata and its limit, integrity (ETag, Content-MD5, CRC64), body limits, key limits,
 * error documents (GET and body-less HEAD), forbid-overwrite, append errors, ACLs and anonymous
 * access, response-* overrides, hostile keys.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import OSS from 'ali-oss'
import { signV1 } from '../../src/auth/sign.js'
import { raw, xmlField } from '../support/raw.js'
import { call, crcOf, etagOf, keyPath, md5Base64, socketRequest, v1Authorization } from '../support/object-http.js'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET, KEY_CTRL, KEY_DOTDOT, KEY_MAX, KEY_UTF8, startTestServer, type TestServer } from '../support/server.js'

const B = 'wire-bkt'

type Hooks = Parameters<typeof startTestServer>[0]

async function serverWithBucket(t: Hooks, acl?: string): Promise<TestServer> {
  const server = await startTestServer(t)
  const res = await call(server, 'PUT', B, undefined, acl !== undefined ? { headers: { 'x-oss-acl': acl } } : {})
  assert.equal(res.status, 200)
  return server
}

function header(res: { headers: Record<string, string | string[] | undefined> }, name: string): string | undefined {
  const v = res.headers[name]
  return Array.isArray(v) ? v.join(', ') : v
}

// ── PutObject / GetObject / HeadObject basics ────────────────────────────────────────────────

void test('PutObject answers 200 with an empty body, quoted uppercase MD5 ETag, Content-MD5 and CRC64', async (t) => {
  const server = await serverWithBucket(t)
  const res = await call(server, 'PUT', B, 'hello.txt', { body: 'hello' })
  assert.equal(res.status, 200)
  assert.equal(res.body.length, 0)
  assert.equal(header(res, 'content-length'), '0')
  assert.equal(header(res, 'etag'), '"5D41402ABC4B2A76B9719D911017C592"')
  assert.equal(header(res, 'content-md5'), 'XUFAKrxLKna5cZ2REBfFkg==')
  assert.equal(header(res, 'x-oss-hash-crc64ecma'), '11177612005948864433')
})

void test('GetObject and HeadObject of "hello" send the body, ETag, Content-MD5, CRC64 and the object headers', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'hello.txt', { body: 'hello' })
  const get = await call(server, 'GET', B, 'hello.txt')
  assert.equal(get.status, 200)
  assert.equal(get.text, 'hello')
  const head = await call(server, 'HEAD', B, 'hello.txt')
  assert.equal(head.status, 200)
  assert.equal(head.body.length, 0)
  for (const res of [get, head]) {
    assert.equal(header(res, 'content-length'), '5')
    assert.equal(header(res, 'etag'), '"5D41402ABC4B2A76B9719D911017C592"')
    assert.equal(header(res, 'content-md5'), 'XUFAKrxLKna5cZ2REBfFkg==')
    assert.equal(header(res, 'x-oss-hash-crc64ecma'), '11177612005948864433')
    assert.equal(header(res, 'x-oss-object-type'), 'Normal')
    assert.equal(header(res, 'x-oss-storage-class'), 'Standard')
    assert.equal(header(res, 'accept-ranges'), 'bytes')
    assert.equal(header(res, 'content-type'), 'application/octet-stream')
    assert.equal(header(res, 'server'), 'AliyunOSS')
    assert.ok(!Number.isNaN(Date.parse(header(res, 'last-modified') ?? '')))
  }
})

void test('an empty object has ETag "D41D8CD98F00B204E9800998ECF8427E" and CRC64 0', async (t) => {
  const server = await serverWithBucket(t)
  const put = await call(server, 'PUT', B, 'empty', { body: '' })
  assert.equal(header(put, 'etag'), '"D41D8CD98F00B204E9800998ECF8427E"')
  assert.equal(header(put, 'x-oss-hash-crc64ecma'), '0')
  const get = await call(server, 'GET', B, 'empty')
  assert.equal(get.status, 200)
  assert.equal(get.body.length, 0)
  assert.equal(header(get, 'x-oss-hash-crc64ecma'), '0')
})

void test('x-oss-hash-crc64ecma on PUT, GET, HEAD and a 206 is the CRC-64/XZ of the whole object', async (t) => {
  const server = await serverWithBucket(t)
  const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31 + 7) & 0xff))
  const crc = crcOf(body)
  const put = await call(server, 'PUT', B, 'bin', { body })
  assert.equal(header(put, 'x-oss-hash-crc64ecma'), crc)
  assert.equal(header(await call(server, 'GET', B, 'bin'), 'x-oss-hash-crc64ecma'), crc)
  assert.equal(header(await call(server, 'HEAD', B, 'bin'), 'x-oss-hash-crc64ecma'), crc)
  const partial = await call(server, 'GET', B, 'bin', { headers: { range: 'bytes=100-199' } })
  assert.equal(partial.status, 206)
  assert.deepEqual(partial.body, body.subarray(100, 200))
  assert.equal(header(partial, 'x-oss-hash-crc64ecma'), crc)
  assert.equal(header(partial, 'etag'), etagOf(body))
})

void test('GetObjectMeta answers ETag, Last-Modified and the object size as Content-Length, without user metadata', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'm.txt', { body: 'twelve bytes', headers: { 'x-oss-meta-a': 'b' } })
  const res = await call(server, 'HEAD', B, 'm.txt', { query: { objectMeta: '' } })
  assert.equal(res.status, 200)
  assert.equal(header(res, 'content-length'), '12')
  assert.equal(header(res, 'etag'), etagOf('twelve bytes'))
  assert.ok(header(res, 'last-modified') !== undefined)
  assert.equal(header(res, 'x-oss-meta-a'), undefined)
})

void test('PutObject over an existing key replaces its content, headers and metadata', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'k', { body: 'one', headers: { 'x-oss-meta-old': '1', 'cache-control': 'no-store' } })
  await call(server, 'PUT', B, 'k', { body: 'two', headers: { 'x-oss-meta-new': '2' } })
  const get = await call(server, 'GET', B, 'k')
  assert.equal(get.text, 'two')
  assert.equal(header(get, 'x-oss-meta-old'), undefined)
  assert.equal(header(get, 'cache-control'), undefined)
  assert.equal(header(get, 'x-oss-meta-new'), '2')
})

void test('DeleteObject answers 204 with an empty body for present and absent keys', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'd', { body: 'x' })
  for (let i = 0; i < 2; i++) {
    const res = await call(server, 'DELETE', B, 'd')
    assert.equal(res.status, 204)
    assert.equal(res.body.length, 0)
  }
  assert.equal((await call(server, 'GET', B, 'd')).status, 404)
})

// ── Stored headers and user metadata ─────────────────────────────────────────────────────────

const STANDARD_HEADERS: Record<string, string> = {
  'content-type': 'text/plain; charset=gbk',
  expires: '1000000',
  // Raw UTF-8 bytes in a latin1 string, as they cross the wire.
  'content-disposition': Buffer.from('attachment; filename="中文 résumé.txt"; filename*=UTF-8\'\'%E4%B8%AD', 'utf8').toString('latin1'),
  'cache-control': 'max-age=60,  private',
  'content-encoding': 'gzip',
  'content-language': 'zh-CN, en',
}

// node:http's client re-encodes a non-ASCII Content-Disposition, so the PUT goes over a raw socket.
void test('standard headers are stored byte for byte and returned on GET and HEAD', async (t) => {
  const server = await serverWithBucket(t)
  const date = new Date().toUTCString()
  const signedHeaders = { 'x-oss-date': date, 'content-type': STANDARD_HEADERS['content-type'] ?? '' }
  const lines = Object.entries(STANDARD_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`)
  const put = await socketRequest(
    server.port,
    `PUT /${B}/std.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nx-oss-date: ${date}\r\n${lines.join('')}Authorization: ${v1Authorization('PUT', B, 'std.txt', signedHeaders)}\r\nContent-Length: 1\r\n\r\nx`,
  )
  assert.equal(put.status, 200)
  for (const method of ['GET', 'HEAD']) {
    const res = await call(server, method, B, 'std.txt')
    for (const [name, value] of Object.entries(STANDARD_HEADERS)) assert.equal(header(res, name), value, `${method} ${name}`)
  }
})

void test('user metadata names come back lowercased and values byte for byte', async (t) => {
  const server = await serverWithBucket(t)
  const latin1Utf8 = Buffer.from('中文 ✓ ключ', 'utf8').toString('latin1')
  await call(server, 'PUT', B, 'meta', {
    body: 'x',
    headers: { 'X-OSS-Meta-Mixed-Case': 'Value With  Spaces', 'x-oss-meta-utf8': latin1Utf8, 'x-oss-meta-empty-ish': '-' },
  })
  const res = await call(server, 'HEAD', B, 'meta')
  assert.equal(header(res, 'x-oss-meta-mixed-case'), 'Value With  Spaces')
  assert.equal(Buffer.from(header(res, 'x-oss-meta-utf8') ?? '', 'latin1').toString('utf8'), '中文 ✓ ключ')
  assert.equal(header(res, 'x-oss-meta-empty-ish'), '-')
})

void test('user metadata of 8,191 bytes (names with prefix plus values) is accepted and 8,192 refused with nothing stored', async (t) => {
  const server = await serverWithBucket(t)
  // Two entries: 'x-oss-meta-a' (12) + 'x-oss-meta-bb' (13) + values.
  const fits = { 'x-oss-meta-a': 'v'.repeat(4000), 'x-oss-meta-bb': 'w'.repeat(8191 - 12 - 13 - 4000) }
  const ok = await call(server, 'PUT', B, 'fits', { body: 'x', headers: fits })
  assert.equal(ok.status, 200)
  const head = await call(server, 'HEAD', B, 'fits')
  assert.equal(header(head, 'x-oss-meta-bb'), fits['x-oss-meta-bb'])

  const tooBig = { ...fits, 'x-oss-meta-bb': `${fits['x-oss-meta-bb']}w` }
  const refused = await call(server, 'PUT', B, 'too-big', { body: 'x', headers: tooBig })
  assert.equal(refused.status, 400)
  assert.equal(xmlField(refused.text, 'Code'), 'InvalidArgument')
  assert.equal(xmlField(refused.text, 'EC'), '0011-00000002')
  assert.equal((await call(server, 'HEAD', B, 'too-big')).status, 404)
})

void test('multi-byte user metadata counts bytes, not characters, toward the 8 KB limit', async (t) => {
  const server = await serverWithBucket(t)
  // '中' is 3 bytes: 2,731 of them (8,193 bytes) are under 8,192 characters but over 8,192 bytes.
  const value = Buffer.from('中'.repeat(2731), 'utf8').toString('latin1')
  const res = await call(server, 'PUT', B, 'wide', { body: 'x', headers: { 'x-oss-meta-w': value } })
  assert.equal(res.status, 400)
  assert.equal(xmlField(res.text, 'Code'), 'InvalidArgument')
})

void test('ali-oss with headerEncoding latin1 stores raw UTF-8 metadata and gets the same bytes back', async (t) => {
  const server = await serverWithBucket(t)
  for (const v4 of [false, true]) {
    const client = new OSS({
      endpoint: `http://127.0.0.1:${server.port}`,
      region: 'oss-cn-hangzhou',
      accessKeyId: ACCESS_KEY_ID,
      accessKeySecret: ACCESS_KEY_SECRET,
      bucket: B,
      authorizationV4: v4,
      headerEncoding: 'latin1',
      retryMax: 0,
    } as never)
    const key = `latin1-${v4 ? 'v4' : 'v1'}`
    await client.put(key, Buffer.from('x'), { meta: { name: '中文名字 ✓', plain: 'ascii' } as never })
    const head = await client.head(key)
    const name = (head.meta as Record<string, string> | null)?.name ?? ''
    assert.equal(Buffer.from(name, 'latin1').toString('utf8'), '中文名字 ✓', key)
    assert.equal((head.meta as Record<string, string> | null)?.plain, 'ascii')
  }
})

void test('x-oss-object-acl, x-oss-storage-class and x-oss-tagging given at PUT are reported on HEAD', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'attrs', {
    body: 'x',
    headers: { 'x-oss-object-acl': 'public-read', 'x-oss-storage-class': 'IA', 'x-oss-tagging': 'k1=v1&k2=v%202' },
  })
  const head = await call(server, 'HEAD', B, 'attrs')
  assert.equal(header(head, 'x-oss-storage-class'), 'IA')
  assert.equal(header(head, 'x-oss-tagging-count'), '2')
  const acl = await call(server, 'GET', B, 'attrs', { query: { acl: '' } })
  assert.equal(xmlField(acl.text, 'Grant'), 'public-read')
})

void test('PutObject with an invalid x-oss-object-acl or x-oss-storage-class answers 400 InvalidArgument', async (t) => {
  const server = await serverWithBucket(t)
  for (const headers of [{ 'x-oss-object-acl': 'world-writable' }, { 'x-oss-storage-class': 'Glacier' }]) {
    const res = await call(server, 'PUT', B, 'bad', { body: 'x', headers })
    assert.equal(res.status, 400)
    assert.equal(xmlField(res.text, 'Code'), 'InvalidArgument')
  }
  assert.equal((await call(server, 'HEAD', B, 'bad')).status, 404)
})

// ── Integrity: Content-MD5 ───────────────────────────────────────────────────────────────────

void test('PutObject with a matching Content-MD5 is stored', async (t) => {
  const server = await serverWithBucket(t)
  const res = await call(server, 'PUT', B, 'md5', { body: 'hello', headers: { 'content-md5': md5Base64('hello') } })
  assert.equal(res.status, 200)
})

for (const [what, digest] of [
  ['a mismatched', md5Base64('other')],
  ['a malformed', 'not-base64!'],
  ['a 15-byte', Buffer.alloc(15, 1).toString('base64')],
] as const) {
  void test(`PutObject with ${what} Content-MD5 answers 400 InvalidDigest and keeps the previous object`, async (t) => {
    const server = await serverWithBucket(t)
    await call(server, 'PUT', B, 'kept', { body: 'original' })
    for (const key of ['kept', 'never']) {
      const res = await call(server, 'PUT', B, key, { body: 'hello', headers: { 'content-md5': digest } })
      assert.equal(res.status, 400)
      assert.equal(xmlField(res.text, 'Code'), 'InvalidDigest')
      assert.equal(xmlField(res.text, 'Message'), 'The Content-MD5 you specified was invalid.')
    }
    assert.equal((await call(server, 'GET', B, 'kept')).text, 'original')
    assert.equal((await call(server, 'HEAD', B, 'never')).status, 404)
  })
}

void test('AppendObject with a mismatched Content-MD5 answers 400 InvalidDigest and appends nothing', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'POST', B, 'log', { query: { append: '', position: '0' }, body: 'abc' })
  const res = await call(server, 'POST', B, 'log', { query: { append: '', position: '3' }, body: 'def', headers: { 'content-md5': md5Base64('xyz') } })
  assert.equal(res.status, 400)
  assert.equal(xmlField(res.text, 'Code'), 'InvalidDigest')
  assert.equal((await call(server, 'GET', B, 'log')).text, 'abc')
})

// ── Body and key limits ──────────────────────────────────────────────────────────────────────

void test('PutObject declaring a body over 5 GB is refused with 400 before the body is read', { timeout: 30_000 }, async (t) => {
  const server = await serverWithBucket(t)
  const date = new Date().toUTCString()
  const headers = { 'x-oss-date': date }
  const auth = v1Authorization('PUT', B, 'huge', headers)
  const res = await socketRequest(
    server.port,
    `PUT /${B}/huge HTTP/1.1\r\nHost: 127.0.0.1\r\nx-oss-date: ${date}\r\nAuthorization: ${auth}\r\nContent-Length: 5368709121\r\n\r\n`,
  )
  assert.equal(res.status, 400)
  assert.equal(xmlField(res.body.toString(), 'Code'), 'InvalidArgument')
  assert.match(res.headers.get('x-oss-request-id') ?? '', /^[0-9A-F]{24}$/)
  assert.equal((await call(server, 'HEAD', B, 'huge')).status, 404)
})

void test('PutObject without Content-Length or chunked encoding answers 411 MissingContentLength', async (t) => {
  const server = await serverWithBucket(t)
  const date = new Date().toUTCString()
  const headers = { 'x-oss-date': date }
  const auth = v1Authorization('PUT', B, 'nolen', headers)
  const res = await socketRequest(server.port, `PUT /${B}/nolen HTTP/1.1\r\nHost: 127.0.0.1\r\nx-oss-date: ${date}\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`)
  assert.equal(res.status, 411)
  assert.equal(xmlField(res.body.toString(), 'Code'), 'MissingContentLength')
  assert.equal(xmlField(res.body.toString(), 'Message'), 'You must provide the Content-Length HTTP header.')
})

void test('a chunked PutObject without Content-Length is stored', async (t) => {
  const server = await serverWithBucket(t)
  const date = new Date().toUTCString()
  const headers = { 'x-oss-date': date }
  const auth = v1Authorization('PUT', B, 'chunked', headers)
  const res = await socketRequest(
    server.port,
    `PUT /${B}/chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nx-oss-date: ${date}\r\nAuthorization: ${auth}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    Buffer.from('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'),
  )
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('etag'), etagOf('hello world'))
  assert.equal((await call(server, 'GET', B, 'chunked')).text, 'hello world')
})

void test('a 1,024-byte key answers 400 InvalidObjectName "The Length of Object name must be less than 1024."', async (t) => {
  const server = await serverWithBucket(t)
  for (const key of ['k'.repeat(1024), '中'.repeat(342)]) {
    const res = await call(server, 'PUT', B, key, { body: 'x' })
    assert.equal(res.status, 400)
    assert.equal(xmlField(res.text, 'Code'), 'InvalidObjectName')
    assert.equal(xmlField(res.text, 'Message'), 'The Length of Object name must be less than 1024.')
  }
})

void test('hostile keys, dot segments and double slashes included, round trip and list verbatim', async (t) => {
  const server = await serverWithBucket(t)
  const keys = [KEY_CTRL, KEY_UTF8, KEY_DOTDOT, KEY_MAX, 'a/./b', 'a//b', 'a/../b', 'a/b', 'b', './x', '..']
  for (const [i, key] of keys.entries()) {
    const put = await call(server, 'PUT', B, key, { body: `body ${i}` })
    assert.equal(put.status, 200, `PUT ${JSON.stringify(key)}: ${put.text}`)
  }
  for (const [i, key] of keys.entries()) {
    const get = await call(server, 'GET', B, key)
    assert.equal(get.text, `body ${i}`, `GET ${JSON.stringify(key)}`)
  }
  const list = await call(server, 'GET', B, undefined, { extraQuery: 'encoding-type=url&max-keys=1000' })
  assert.equal(list.status, 200)
  const listed = [...list.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => decodeURIComponent(m[1] ?? ''))
  const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))
  assert.deepEqual(listed, [...keys].sort(utf8Order))
  // Deleting by the dot-segment key removes exactly that key.
  assert.equal((await call(server, 'DELETE', B, 'a/../b')).status, 204)
  assert.equal((await call(server, 'GET', B, 'b')).text, `body ${keys.indexOf('b')}`)
  assert.equal((await call(server, 'GET', B, 'a/b')).text, `body ${keys.indexOf('a/b')}`)
})

// ── Errors: document shape, HEAD, request ids ────────────────────────────────────────────────

void test('GetObject of a missing key answers the NoSuchKey document with RequestId, HostId, Key and EC 0026-00000001', async (t) => {
  const server = await serverWithBucket(t)
  const res = await call(server, 'GET', B, 'no/such key', { headers: { host: 'example.test:1234' } })
  assert.equal(res.status, 404)
  assert.equal(header(res, 'content-type'), 'application/xml')
  assert.equal(header(res, 'x-oss-ec'), '0026-00000001')
  const id = header(res, 'x-oss-request-id') ?? ''
  assert.equal(
    res.text,
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>' +
      `<RequestId>${id}</RequestId><HostId>example.test:1234</HostId><Key>no/such key</Key><EC>0026-00000001</EC>` +
      '<RecommendDoc>https://api.aliyun.com/troubleshoot?q=0026-00000001</RecommendDoc></Error>',
  )
})

void test('object operations on a missing bucket answer NoSuchBucket with BucketName and EC 0015-00000101', async (t) => {
  const server = await startTestServer(t)
  for (const [method, options] of [
    ['GET', {}],
    ['PUT', { body: 'x' }],
    ['DELETE', {}],
    ['POST', { query: { append: '', position: '0' }, body: 'x' }],
  ] as const) {
    const res = await call(server, method, 'no-such-bkt', 'k', options)
    assert.equal(res.status, 404, method)
    assert.equal(xmlField(res.text, 'Code'), 'NoSuchBucket')
    assert.equal(xmlField(res.text, 'BucketName'), 'no-such-bkt')
    assert.equal(xmlField(res.text, 'EC'), '0015-00000101')
  }
})

void test('HEAD errors have no body and carry x-oss-err (base64 of the error XML), x-oss-ec and x-oss-request-id', async (t) => {
  const server = await serverWithBucket(t)
  for (const query of [{}, { objectMeta: '' }]) {
    const res = await call(server, 'HEAD', B, 'missing', { query })
    assert.equal(res.status, 404)
    assert.equal(res.body.length, 0)
    assert.equal(header(res, 'x-oss-ec'), '0026-00000001')
    const xml = Buffer.from(header(res, 'x-oss-err') ?? '', 'base64').toString('utf8')
    assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error>/)
    assert.equal(xmlField(xml, 'Code'), 'NoSuchKey')
    assert.equal(xmlField(xml, 'RequestId'), header(res, 'x-oss-request-id'))
    assert.equal(xmlField(xml, 'EC'), '0026-00000001')
  }
  await call(server, 'PUT', B, 'present', { body: 'x' })
  const failed = await call(server, 'HEAD', B, 'present', { headers: { 'if-match': '"nope"' } })
  assert.equal(failed.status, 412)
  assert.equal(failed.body.length, 0)
  assert.equal(xmlField(Buffer.from(header(failed, 'x-oss-err') ?? '', 'base64').toString(), 'Condition'), 'If-Match')
})

void test('every object response carries x-oss-request-id, whatever its status', async (t) => {
  const server = await serverWithBucket(t)
  // call() asserts the id's presence and shape on each response; this walks the statuses.
  const seen = new Set<number>()
  seen.add((await call(server, 'PUT', B, 'r', { body: '0123456789' })).status)
  seen.add((await call(server, 'GET', B, 'r')).status)
  seen.add((await call(server, 'GET', B, 'r', { headers: { range: 'bytes=0-1' } })).status)
  seen.add((await call(server, 'GET', B, 'r', { headers: { 'if-none-match': etagOf('0123456789') } })).status)
  seen.add((await call(server, 'GET', B, 'r', { headers: { 'if-match': '"x"' } })).status)
  seen.add((await call(server, 'GET', B, 'r', { headers: { range: 'bytes=20-', 'x-oss-range-behavior': 'standard' } })).status)
  seen.add((await call(server, 'GET', B, 'nope')).status)
  seen.add((await call(server, 'POST', B, 'r', { query: { append: '', position: '0' }, body: 'x' })).status)
  seen.add((await call(server, 'GET', B, 'r', { anonymous: true })).status)
  seen.add((await call(server, 'DELETE', B, 'r')).status)
  seen.add((await call(server, 'PUT', B, 'k'.repeat(1024), { body: 'x' })).status)
  assert.deepEqual([...seen].sort(), [200, 204, 206, 304, 400, 403, 404, 409, 412, 416])
})

// ── forbid-overwrite, copy errors, append errors ─────────────────────────────────────────────

void test('x-oss-forbid-overwrite: true refuses PutObject and CopyObject onto an existing key with 409 FileAlreadyExists', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'src', { body: 'source' })
  await call(server, 'PUT', B, 'dst', { body: 'original' })
  const put = await call(server, 'PUT', B, 'dst', { body: 'new', headers: { 'x-oss-forbid-overwrite': 'true' } })
  assert.equal(put.status, 409)
  assert.equal(xmlField(put.text, 'Code'), 'FileAlreadyExists')
  assert.equal(xmlField(put.text, 'EC'), '0026-00000002')
  const copy = await call(server, 'PUT', B, 'dst', { headers: { 'x-oss-copy-source': `/${B}/src`, 'x-oss-forbid-overwrite': 'true' } })
  assert.equal(copy.status, 409)
  assert.equal(xmlField(copy.text, 'Code'), 'FileAlreadyExists')
  assert.equal((await call(server, 'GET', B, 'dst')).text, 'original')
  // false (and a new key with true) write normally.
  assert.equal((await call(server, 'PUT', B, 'dst', { body: 'new', headers: { 'x-oss-forbid-overwrite': 'false' } })).status, 200)
  assert.equal((await call(server, 'PUT', B, 'fresh', { body: 'new', headers: { 'x-oss-forbid-overwrite': 'true' } })).status, 200)
  assert.equal((await call(server, 'PUT', B, 'fresh2', { headers: { 'x-oss-copy-source': `/${B}/src`, 'x-oss-forbid-overwrite': 'true' } })).status, 200)
  assert.equal((await call(server, 'GET', B, 'dst')).text, 'new')
})

void test('CopyObject answers the CopyObjectResult document with the ETag header and CRC64', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'src key+&', { body: 'copy body' })
  const res = await call(server, 'PUT', B, 'dst', { headers: { 'x-oss-copy-source': `/${B}/${encodeURIComponent('src key+&')}` } })
  assert.equal(res.status, 200)
  assert.equal(header(res, 'content-type'), 'application/xml')
  assert.equal(header(res, 'etag'), etagOf('copy body'))
  assert.equal(header(res, 'x-oss-hash-crc64ecma'), crcOf('copy body'))
  assert.match(res.text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<CopyObjectResult><ETag>"[0-9A-F]{32}"<\/ETag><LastModified>[^<]+<\/LastModified><\/CopyObjectResult>$/)
  assert.equal(xmlField(res.text, 'ETag'), etagOf('copy body'))
  const get = await call(server, 'GET', B, 'dst')
  assert.equal(get.text, 'copy body')
  assert.equal(header(get, 'content-md5'), md5Base64('copy body'))
})

void test('CopyObject of an Appendable source makes a Normal object with the content MD5 as ETag', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'POST', B, 'log', { query: { append: '', position: '0' }, body: 'foo' })
  await call(server, 'POST', B, 'log', { query: { append: '', position: '3' }, body: 'bar' })
  const res = await call(server, 'PUT', B, 'copy', { headers: { 'x-oss-copy-source': `/${B}/log` } })
  assert.equal(res.status, 200)
  assert.equal(header(res, 'etag'), etagOf('foobar'))
  const head = await call(server, 'HEAD', B, 'copy')
  assert.equal(header(head, 'x-oss-object-type'), 'Normal')
  assert.equal(header(head, 'x-oss-hash-crc64ecma'), crcOf('foobar'))
  assert.equal(header(head, 'x-oss-next-append-position'), undefined)
})

void test('CopyObject with REPLACE takes headers and metadata from the request; COPY ignores them', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'src', { body: 'x', headers: { 'content-type': 'text/src', 'x-oss-meta-src': '1' } })
  await call(server, 'PUT', B, 'replaced', {
    headers: { 'x-oss-copy-source': `/${B}/src`, 'x-oss-metadata-directive': 'REPLACE', 'content-type': 'text/new', 'x-oss-meta-new': '2' },
  })
  const replaced = await call(server, 'HEAD', B, 'replaced')
  assert.equal(header(replaced, 'content-type'), 'text/new')
  assert.equal(header(replaced, 'x-oss-meta-new'), '2')
  assert.equal(header(replaced, 'x-oss-meta-src'), undefined)
  await call(server, 'PUT', B, 'copied', { headers: { 'x-oss-copy-source': `/${B}/src`, 'content-type': 'text/new', 'x-oss-meta-new': '2' } })
  const copied = await call(server, 'HEAD', B, 'copied')
  assert.equal(header(copied, 'content-type'), 'text/src')
  assert.equal(header(copied, 'x-oss-meta-src'), '1')
  assert.equal(header(copied, 'x-oss-meta-new'), undefined)
})

void test('CopyObject errors: malformed source 400 InvalidArgument, missing source key NoSuchKey, missing source bucket NoSuchBucket', async (t) => {
  const server = await serverWithBucket(t)
  const bad = await call(server, 'PUT', B, 'dst', { headers: { 'x-oss-copy-source': 'no-slash' } })
  assert.equal(bad.status, 400)
  assert.equal(xmlField(bad.text, 'Code'), 'InvalidArgument')
  assert.equal(xmlField(bad.text, 'Message'), 'Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.')
  const noKey = await call(server, 'PUT', B, 'dst', { headers: { 'x-oss-copy-source': `/${B}/absent` } })
  assert.equal(noKey.status, 404)
  assert.equal(xmlField(noKey.text, 'Code'), 'NoSuchKey')
  assert.equal(xmlField(noKey.text, 'Message'), 'The specified key does not exist.')
  const noBucket = await call(server, 'PUT', B, 'dst', { headers: { 'x-oss-copy-source': '/absent-bkt/k' } })
  assert.equal(noBucket.status, 404)
  assert.equal(xmlField(noBucket.text, 'Code'), 'NoSuchBucket')
  assert.equal((await call(server, 'HEAD', B, 'dst')).status, 404)
})

void test('AppendObject at a wrong position answers 409 PositionNotEqualToLength with the length in x-oss-next-append-position', async (t) => {
  const server = await serverWithBucket(t)
  const absent = await call(server, 'POST', B, 'log', { query: { append: '', position: '5' }, body: 'x' })
  assert.equal(absent.status, 409)
  assert.equal(xmlField(absent.text, 'Code'), 'PositionNotEqualToLength')
  assert.equal(header(absent, 'x-oss-next-append-position'), '0')
  const first = await call(server, 'POST', B, 'log', { query: { append: '', position: '0' }, body: 'hello' })
  assert.equal(first.status, 200)
  assert.equal(first.body.length, 0)
  assert.equal(header(first, 'x-oss-next-append-position'), '5')
  for (const position of ['0', '4', '6']) {
    const res = await call(server, 'POST', B, 'log', { query: { append: '', position }, body: 'x' })
    assert.equal(res.status, 409, position)
    assert.equal(xmlField(res.text, 'Message'), 'Position is not equal to file length.')
    assert.equal(header(res, 'x-oss-next-append-position'), '5')
  }
  assert.equal((await call(server, 'GET', B, 'log')).text, 'hello')
})

void test('AppendObject continues the CRC64 across appends and keeps headers from the first append only', async (t) => {
  const server = await serverWithBucket(t)
  const pieces = ['12345', '6789', '', 'tail']
  let position = 0
  let content = ''
  for (const [i, piece] of pieces.entries()) {
    const res = await call(server, 'POST', B, 'log', {
      query: { append: '', position: String(position) },
      body: piece,
      headers: { 'content-type': `text/part-${i}`, [`x-oss-meta-p${i}`]: 'v' },
    })
    assert.equal(res.status, 200)
    content += piece
    position += piece.length
    assert.equal(header(res, 'x-oss-next-append-position'), String(position))
    assert.equal(header(res, 'x-oss-hash-crc64ecma'), crcOf(content))
  }
  const head = await call(server, 'HEAD', B, 'log')
  assert.equal(header(head, 'content-type'), 'text/part-0')
  assert.equal(header(head, 'x-oss-meta-p0'), 'v')
  assert.equal(header(head, 'x-oss-meta-p1'), undefined)
  assert.equal(header(head, 'x-oss-object-type'), 'Appendable')
  assert.equal(header(head, 'content-md5'), undefined)
  assert.equal(header(head, 'x-oss-hash-crc64ecma'), crcOf('123456789tail'))
})

void test('AppendObject onto a Normal object answers 409 ObjectNotAppendable; PutObject over an Appendable one makes it Normal', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'normal', { body: 'abc' })
  const res = await call(server, 'POST', B, 'normal', { query: { append: '', position: '3' }, body: 'd' })
  assert.equal(res.status, 409)
  assert.equal(xmlField(res.text, 'Code'), 'ObjectNotAppendable')
  assert.equal(xmlField(res.text, 'Message'), 'The object is not appendable.')
  await call(server, 'POST', B, 'log', { query: { append: '', position: '0' }, body: 'abc' })
  await call(server, 'PUT', B, 'log', { body: 'replaced' })
  const head = await call(server, 'HEAD', B, 'log')
  assert.equal(header(head, 'x-oss-object-type'), 'Normal')
  assert.equal(header(head, 'x-oss-next-append-position'), undefined)
  assert.equal(header(head, 'content-md5'), md5Base64('replaced'))
})

// ── ACLs and anonymous access ────────────────────────────────────────────────────────────────

void test('a public-read object in a private bucket is readable anonymously; a private or default one answers 403 AccessDenied', async (t) => {
  const server = await serverWithBucket(t, 'private')
  for (const [key, acl] of [['open', 'public-read'], ['closed', 'private'], ['inherit', 'default']] as const) {
    await call(server, 'PUT', B, key, { body: key })
    assert.equal((await call(server, 'PUT', B, key, { query: { acl: '' }, headers: { 'x-oss-object-acl': acl } })).status, 200)
  }
  const open = await call(server, 'GET', B, 'open', { anonymous: true })
  assert.equal(open.status, 200)
  assert.equal(open.text, 'open')
  assert.equal((await call(server, 'HEAD', B, 'open', { anonymous: true })).status, 200)
  for (const key of ['closed', 'inherit']) {
    const res = await call(server, 'GET', B, key, { anonymous: true })
    assert.equal(res.status, 403, key)
    assert.equal(xmlField(res.text, 'Code'), 'AccessDenied')
  }
  // Reading does not grant writing.
  const write = await call(server, 'PUT', B, 'open', { anonymous: true, body: 'hijack' })
  assert.equal(write.status, 403)
  assert.equal((await call(server, 'GET', B, 'open')).text, 'open')
})

void test('a private object in a public-read bucket answers 403 AccessDenied anonymously', async (t) => {
  const server = await serverWithBucket(t, 'public-read')
  await call(server, 'PUT', B, 'secret', { body: 's', headers: { 'x-oss-object-acl': 'private' } })
  await call(server, 'PUT', B, 'shared', { body: 's' })
  const res = await call(server, 'GET', B, 'secret', { anonymous: true })
  assert.equal(res.status, 403)
  assert.equal(xmlField(res.text, 'Code'), 'AccessDenied')
  assert.equal((await call(server, 'GET', B, 'shared', { anonymous: true })).status, 200)
  assert.equal((await call(server, 'GET', B, 'absent', { anonymous: true })).status, 404)
})

void test('PutObjectACL with an unknown ACL answers 400 InvalidArgument; ACL calls on a missing key answer NoSuchKey', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'k', { body: 'x' })
  const bad = await call(server, 'PUT', B, 'k', { query: { acl: '' }, headers: { 'x-oss-object-acl': 'everyone' } })
  assert.equal(bad.status, 400)
  assert.equal(xmlField(bad.text, 'Code'), 'InvalidArgument')
  const getMissing = await call(server, 'GET', B, 'absent', { query: { acl: '' } })
  assert.equal(getMissing.status, 404)
  assert.equal(xmlField(getMissing.text, 'Code'), 'NoSuchKey')
  const putMissing = await call(server, 'PUT', B, 'absent', { query: { acl: '' }, headers: { 'x-oss-object-acl': 'private' } })
  assert.equal(putMissing.status, 404)
  assert.equal(xmlField(putMissing.text, 'Code'), 'NoSuchKey')
})

void test('GetObjectACL answers AccessControlPolicy with Owner and Grant', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'k', { body: 'x', headers: { 'x-oss-object-acl': 'public-read' } })
  const res = await call(server, 'GET', B, 'k', { query: { acl: '' } })
  assert.equal(res.status, 200)
  assert.match(res.text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<AccessControlPolicy><Owner><ID>[^<]+<\/ID><DisplayName>[^<]+<\/DisplayName><\/Owner><AccessControlList><Grant>public-read<\/Grant><\/AccessControlList><\/AccessControlPolicy>$/)
})

// ── response-* overrides ─────────────────────────────────────────────────────────────────────

const OVERRIDES: Record<string, string> = {
  'response-content-type': 'image/png',
  'response-content-language': 'fr',
  'response-expires': 'Thu, 01 Jan 2037 00:00:00 GMT',
  'response-cache-control': 'no-cache',
  'response-content-disposition': 'attachment; filename="x y.png"',
  'response-content-encoding': 'identity',
}

void test('response-* query parameters replace the matching headers on GET 200 and 206', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'o', { body: '0123456789', headers: { 'content-type': 'text/plain', 'cache-control': 'max-age=1' } })
  for (const headers of [{}, { range: 'bytes=2-4' }]) {
    const res = await call(server, 'GET', B, 'o', { query: OVERRIDES, headers })
    assert.ok(res.status === 200 || res.status === 206)
    for (const [param, value] of Object.entries(OVERRIDES)) assert.equal(header(res, param.slice('response-'.length)), value, param)
  }
  // Overrides do not touch what is stored.
  assert.equal(header(await call(server, 'HEAD', B, 'o'), 'cache-control'), 'max-age=1')
})

void test('response-* overrides on an anonymous GET answer 400 InvalidRequest', async (t) => {
  const server = await serverWithBucket(t, 'public-read')
  await call(server, 'PUT', B, 'o', { body: 'x' })
  const res = await call(server, 'GET', B, 'o', { anonymous: true, query: { 'response-content-type': 'text/html' } })
  assert.equal(res.status, 400)
  assert.equal(xmlField(res.text, 'Code'), 'InvalidRequest')
  assert.equal(xmlField(res.text, 'Message'), 'Request specific response headers cannot be used for anonymous GET requests.')
})

void test('a presigned URL carrying response-content-disposition applies it', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'dl.bin', { body: 'download' })
  const client = new OSS({ endpoint: `http://localhost:${server.port}`, region: 'oss-cn-hangzhou', accessKeyId: ACCESS_KEY_ID, accessKeySecret: ACCESS_KEY_SECRET, bucket: B, retryMax: 0 } as never)
  const url = new URL(client.signatureUrl('dl.bin', { expires: 600, response: { 'content-disposition': 'attachment; filename="d.bin"' } }))
  const res = await raw(server, { path: `${url.pathname}${url.search}`, headers: { host: url.host } })
  assert.equal(res.status, 200)
  assert.equal(header(res, 'content-disposition'), 'attachment; filename="d.bin"')
  assert.equal(res.text, 'download')
  // The override is signed: changing it breaks the signature.
  const tampered = await raw(server, { path: `${url.pathname}${url.search.replace('d.bin', 'e.bin')}`, headers: { host: url.host } })
  assert.equal(tampered.status, 403)
})

// ── More edges ───────────────────────────────────────────────────────────────────────────────

void test('a user metadata name with characters other than letters, digits and "-" answers 400 InvalidArgument', async (t) => {
  const server = await serverWithBucket(t)
  const res = await call(server, 'PUT', B, 'k', { body: 'x', headers: { 'x-oss-meta-bad_name': 'v' } })
  assert.equal(res.status, 400)
  assert.equal(xmlField(res.text, 'Code'), 'InvalidArgument')
  assert.equal((await call(server, 'HEAD', B, 'k')).status, 404)
})

void test('keys starting with "/", holding NUL or invalid UTF-8 answer 400 InvalidObjectName', async (t) => {
  const server = await serverWithBucket(t)
  for (const path of [`/${B}//lead`, `/${B}/nul%00byte`, `/${B}/bad%FFutf8`, `/${B}/bad%E4%B8`]) {
    const res = await raw(server, { method: 'PUT', path, body: 'x' })
    assert.equal(res.status, 400, path)
    assert.equal(xmlField(res.text, 'Code'), 'InvalidObjectName', path)
    assert.match(header(res, 'x-oss-request-id') ?? '', /^[0-9A-F]{24}$/)
  }
})

void test('keys with "?", "#", "%" and "+" round trip when percent-encoded', async (t) => {
  const server = await serverWithBucket(t)
  for (const key of ['what?#%25+plus.txt', 'q=1&r=2', '100%']) {
    assert.equal((await call(server, 'PUT', B, key, { body: key })).status, 200, key)
    assert.equal((await call(server, 'GET', B, key)).text, key)
  }
  // A raw `+` in the path is a plus, not a space.
  assert.equal((await call(server, 'PUT', B, 'a+b', { body: 'plus' })).status, 200)
  const res = await raw(server, { path: `/${B}/a+b`, sign: { bucket: B, key: 'a+b' } })
  assert.equal(res.text, 'plus')
})

void test('a self-copy without a directive takes the request metadata, like putMeta', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'self', { body: 'keep', headers: { 'x-oss-meta-old': '1', 'content-type': 'text/old' } })
  const res = await call(server, 'PUT', B, 'self', { headers: { 'x-oss-copy-source': `/${B}/self`, 'x-oss-meta-new': '2' } })
  assert.equal(res.status, 200)
  const get = await call(server, 'GET', B, 'self')
  assert.equal(get.text, 'keep')
  assert.equal(header(get, 'x-oss-meta-old'), undefined)
  assert.equal(header(get, 'x-oss-meta-new'), '2')
})

void test('CopyObject between buckets decodes the source key once, "/" encoded or not', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', 'other-bkt', undefined)
  const key = 'dir/中文 ?&+.txt'
  await call(server, 'PUT', 'other-bkt', key, { body: 'across' })
  for (const source of [`/other-bkt/${encodeURIComponent(key)}`, `/other-bkt/${keyPath(key)}`]) {
    const res = await call(server, 'PUT', B, 'dst', { headers: { 'x-oss-copy-source': source } })
    assert.equal(res.status, 200, source)
    assert.equal((await call(server, 'GET', B, 'dst')).text, 'across')
    await call(server, 'DELETE', B, 'dst')
  }
})

void test('CopyObject with an unknown x-oss-metadata-directive answers 400 InvalidArgument', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'src', { body: 'x' })
  const res = await call(server, 'PUT', B, 'dst', { headers: { 'x-oss-copy-source': `/${B}/src`, 'x-oss-metadata-directive': 'MERGE' } })
  assert.equal(res.status, 400)
  assert.equal(xmlField(res.text, 'Code'), 'InvalidArgument')
})

void test('AppendObject without a numeric position answers 400 InvalidArgument', async (t) => {
  const server = await serverWithBucket(t)
  for (const query of [{ append: '' }, { append: '', position: 'abc' }, { append: '', position: '-1' }]) {
    const res = await call(server, 'POST', B, 'log', { query, body: 'x' })
    assert.equal(res.status, 400, JSON.stringify(query))
    assert.equal(xmlField(res.text, 'Code'), 'InvalidArgument')
  }
  assert.equal((await call(server, 'HEAD', B, 'log')).status, 404)
})

void test('the ETag an append answers is the one GET and HEAD report', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'POST', B, 'log', { query: { append: '', position: '0' }, body: 'abc' })
  const second = await call(server, 'POST', B, 'log', { query: { append: '', position: '3' }, body: 'def' })
  assert.match(header(second, 'etag') ?? '', /^"[0-9A-F]{32}"$/)
  assert.equal(header(await call(server, 'HEAD', B, 'log'), 'etag'), header(second, 'etag'))
  assert.equal(header(await call(server, 'GET', B, 'log'), 'etag'), header(second, 'etag'))
})

void test('conditional headers on PutObject are ignored', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'k', { body: 'one' })
  const res = await call(server, 'PUT', B, 'k', { body: 'two', headers: { 'if-match': '"nope"', 'if-modified-since': 'Fri, 01 Jan 2100 00:00:00 GMT' } })
  assert.equal(res.status, 200)
  assert.equal((await call(server, 'GET', B, 'k')).text, 'two')
})

void test('an anonymous HEAD of a private object answers a body-less 403 with x-oss-err', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'k', { body: 'x' })
  const res = await call(server, 'HEAD', B, 'k', { anonymous: true })
  assert.equal(res.status, 403)
  assert.equal(res.body.length, 0)
  assert.equal(xmlField(Buffer.from(header(res, 'x-oss-err') ?? '', 'base64').toString(), 'Code'), 'AccessDenied')
})

void test('a PutObject whose client leaves mid-body stores nothing and leaves the previous object', async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'PUT', B, 'partial', { body: 'previous' })
  const date = new Date().toUTCString()
  const auth = v1Authorization('PUT', B, 'partial', { 'x-oss-date': date })
  const outcome = await socketRequest(
    server.port,
    `PUT /${B}/partial HTTP/1.1\r\nHost: 127.0.0.1\r\nx-oss-date: ${date}\r\nAuthorization: ${auth}\r\nContent-Length: 100\r\n\r\n`,
    Buffer.from('only ten b'),
    { endAfterWrite: true },
  ).then(
    (r) => r.status,
    () => 'closed',
  )
  assert.ok(outcome === 'closed' || outcome === 400, String(outcome))
  assert.equal((await call(server, 'GET', B, 'partial')).text, 'previous')
})

void test('AppendObject declaring more than 5 GB in total is refused with 400 before the body is read', { timeout: 30_000 }, async (t) => {
  const server = await serverWithBucket(t)
  await call(server, 'POST', B, 'log', { query: { append: '', position: '0' }, body: 'abc' })
  const date = new Date().toUTCString()
  const auth = signV1({ method: 'POST', bucket: B, key: 'log', subresources: { append: undefined, position: '3' }, headers: { 'x-oss-date': date }, secret: ACCESS_KEY_SECRET, accessKeyId: ACCESS_KEY_ID })
  const res = await socketRequest(
    server.port,
    `POST /${B}/log?append&position=3 HTTP/1.1\r\nHost: 127.0.0.1\r\nx-oss-date: ${date}\r\nAuthorization: ${auth}\r\nContent-Length: ${5 * 1024 ** 3 - 2}\r\n\r\n`,
  )
  assert.equal(res.status, 400)
  assert.equal(xmlField(res.body.toString(), 'Code'), 'InvalidArgument')
  assert.equal((await call(server, 'GET', B, 'log')).text, 'abc')
})
