/** Robustness: every refusal is an OSS error document with a request id, and nothing answers 5xx. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import fc from 'fast-check'
import { V1_SUBRESOURCES } from '../../src/auth/v1.js'
import { aliApi } from '../support/ali-views.js'
import { ossClient } from '../support/oss-client.js'
import { assertErrorShape, assertOssError } from '../support/oss-assert.js'
import { raw, signed, xmlField, type RawResponse } from '../support/raw.js'
import { startTestServer, type TestServer } from '../support/server.js'

async function setUp(server: TestServer, bucket = 'errs'): Promise<void> {
  assert.equal((await signed(server, 'PUT', bucket, undefined)).status, 200)
  assert.equal((await signed(server, 'PUT', bucket, 'obj', { body: 'x' })).status, 200)
}

/** A HEAD error: no body, request id, and the whole error document base64 in x-oss-err. */
function assertHeadError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status)
  assert.equal(res.body.length, 0)
  const id = res.headers['x-oss-request-id']
  assert.ok(typeof id === 'string' && /^[0-9A-F]{24}$/.test(id))
  const xml = Buffer.from(String(res.headers['x-oss-err']), 'base64').toString('utf8')
  assert.equal(xmlField(xml, 'Code'), code)
  assert.equal(xmlField(xml, 'RequestId'), id)
}

void test('Unknown methods answer 405 MethodNotAllowed on the service, a bucket and an object', async (t) => {
  const server = await startTestServer(t)
  await setUp(server)
  for (const method of ['PATCH', 'OPTIONS', 'PROPFIND', 'TRACE', 'MKCOL', 'LOCK']) {
    const targets: Array<[string, { bucket?: string; key?: string }]> = [
      ['/', {}],
      ['/errs/', { bucket: 'errs' }],
      ['/errs/obj', { bucket: 'errs', key: 'obj' }],
      ['/missing-bkt/obj', { bucket: 'missing-bkt', key: 'obj' }],
    ]
    for (const [path, sign] of targets) {
      assertOssError(await raw(server, { method, path }), 405, 'MethodNotAllowed')
      assertOssError(await raw(server, { method, path, sign }), 405, 'MethodNotAllowed')
    }
  }
})

void test('Methods and request lines node:http cannot parse still answer an OSS error document with a request id', async (t) => {
  const server = await startTestServer(t)
  for (const method of ['FOO', 'BREW', 'GETS']) assertOssError(await raw(server, { method, path: '/errs/obj' }), 405, 'MethodNotAllowed')
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => socket.end('GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n'))
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')))
    socket.on('error', reject)
  })
  const head = await raw(server, { method: 'HEAD', path: Buffer.from('/errs/中', 'utf8').toString('latin1') })
  assertHeadError(head, 400, 'InvalidArgument')
  assert.match(answer, /^HTTP\/1\.1 400 /)
  assert.match(answer, /\r\nx-oss-request-id: [0-9A-F]{24}\r\n/)
  assert.match(answer, /<Error><Code>InvalidArgument<\/Code><Message>.+<\/Message><RequestId>[0-9A-F]{24}<\/RequestId><HostId><\/HostId><\/Error>$/)
})

void test('POST on an object without a sub-resource and PUT, POST or DELETE on the service answer 405 MethodNotAllowed', async (t) => {
  const server = await startTestServer(t)
  await setUp(server)
  assertOssError(await signed(server, 'POST', 'errs', 'obj', { body: 'x' }), 405, 'MethodNotAllowed')
  assertOssError(await signed(server, 'POST', 'errs', undefined, { body: 'x' }), 405, 'MethodNotAllowed')
  for (const method of ['PUT', 'POST', 'DELETE']) {
    assertOssError(await raw(server, { method, path: '/', sign: {} }), 405, 'MethodNotAllowed')
  }
  assert.equal((await signed(server, 'GET', 'errs', 'obj')).text, 'x')
})

void test('Unimplemented sub-resources answer 400 NotImplemented on buckets and objects, never a listing or the object', async (t) => {
  const server = await startTestServer(t)
  await setUp(server)
  for (const sub of ['lifecycle', 'cors', 'tagging', 'policy', 'referer', 'logging', 'encryption', 'versioning', 'x-oss-process']) {
    for (const method of ['GET', 'PUT', 'DELETE', 'POST']) {
      for (const key of [undefined, 'obj']) {
        const value = sub === 'x-oss-process' ? 'image/resize,w_10' : ''
        const query = value === '' ? sub : `${sub}=${encodeURIComponent(value)}`
        const res = await signed(server, method, 'errs', key, { query, subresources: { [sub]: value }, ...(method === 'PUT' ? { body: '<x/>' } : {}) })
        assertOssError(res, 400, 'NotImplemented')
        assert.doesNotMatch(res.text, /ListBucketResult/)
      }
    }
  }
  // Nothing was changed by a refused PUT/DELETE.
  assert.equal((await signed(server, 'GET', 'errs', 'obj')).text, 'x')
  // A misspelt, unknown parameter is ignored: plain operation.
  const list = await signed(server, 'GET', 'errs', undefined, { query: 'prefixz=o' })
  assert.equal(list.status, 200)
  assert.match(list.text, /<ListBucketResult>/)
})

void test('Bad percent escapes or invalid UTF-8 in the path or query answer 400 with an OSS error', async (t) => {
  const server = await startTestServer(t)
  await setUp(server)
  for (const path of ['/errs/%zz', '/errs/a%', '/errs/%E0%A4%A', '/errs/%C3%28', '/errs/%FF', '/%zz/obj', '/errs/?prefix=%zz', '/errs/obj?x=%', '/errs/obj?%=1']) {
    for (const sign of [false, true]) {
      const res = await raw(server, { path, ...(sign ? { sign: { bucket: 'errs' } } : {}) })
      assert.equal(res.status, 400, `${path}: ${res.text}`)
      assertErrorShape(res)
    }
  }
  // Raw (unescaped) invalid UTF-8 bytes in the request line.
  const bytes = await raw(server, { path: Buffer.from([0x2f, 0x65, 0x72, 0x72, 0x73, 0x2f, 0xc3, 0x28]).toString('latin1') })
  assert.equal(bytes.status, 400)
})

void test('Malformed XML bodies answer 400 MalformedXML for PutBucket, CompleteMultipartUpload and InitiateBucketWorm', async (t) => {
  const server = await startTestServer(t)
  await setUp(server)
  const client = ossClient(server, { bucket: 'errs' })
  const { uploadId } = await client.initMultipartUpload('mp')
  const broken = ['<', '<A><B></A></B>', '<A>&</A>', '<?xml version="1.0"?>', '<A/><B/>', '\u0000', '<!DOCTYPE a [<!ENTITY x "y">]><A>&x;</A>']
  for (const body of broken) {
    assertOssError(await signed(server, 'PUT', 'xml-new', undefined, { body }), 400, 'MalformedXML')
    const complete = await signed(server, 'POST', 'errs', 'mp', { query: `uploadId=${uploadId}`, subresources: { uploadId }, body })
    assertOssError(complete, 400, 'MalformedXML')
    assertOssError(await signed(server, 'POST', 'errs', undefined, { query: 'worm', subresources: { worm: '' }, body }), 400, 'MalformedXML')
    assertOssError(await signed(server, 'POST', 'errs', undefined, { query: 'delete', subresources: { delete: '' }, body }), 400, 'MalformedXML')
  }
  await aliApi(client).abortMultipartUpload('mp', uploadId)
})

void test('Error documents carry Code, Message, RequestId, HostId (the Host addressed) and the x-oss-request-id header', async (t) => {
  const server = await startTestServer(t)
  const res = await raw(server, { path: '/nobody-here/k', headers: { host: 'nobody-here.oss-cn-hangzhou.aliyuncs.com' }, sign: { bucket: 'nobody-here', key: 'k' } })
  assertOssError(res, 404, 'NoSuchBucket')
  assert.equal(xmlField(res.text, 'HostId'), 'nobody-here.oss-cn-hangzhou.aliyuncs.com')
  assert.equal(res.headers.server, 'AliyunOSS')
  assert.ok(res.headers.date !== undefined)
  assert.equal(res.headers['x-oss-ec'], '0015-00000101')
  assert.doesNotMatch(res.text, /xmlns/)
})

void test('HEAD errors have no body and carry the error document in x-oss-err', async (t) => {
  const server = await startTestServer(t)
  await setUp(server)
  assertHeadError(await signed(server, 'HEAD', 'errs', 'absent'), 404, 'NoSuchKey')
  assertHeadError(await signed(server, 'HEAD', 'no-bkt', 'absent'), 404, 'NoSuchBucket')
  assertHeadError(await raw(server, { method: 'HEAD', path: '/errs/obj' }), 403, 'AccessDenied')
  assertHeadError(await raw(server, { method: 'HEAD', path: '/errs/obj', sign: { bucket: 'errs', key: 'obj', secret: 'bad' } }), 403, 'SignatureDoesNotMatch')
  // Signature diagnostics echo x-oss-* headers: a large one must not push x-oss-err past what clients accept.
  const big = await raw(server, { method: 'HEAD', path: '/errs/obj', headers: { 'x-oss-meta-big': 'x'.repeat(9000) }, sign: { bucket: 'errs', key: 'obj', secret: 'bad' } })
  assertHeadError(big, 403, 'SignatureDoesNotMatch')
  await assert.rejects(ossClient(server, { bucket: 'errs', secret: 'bad' }).head('obj', { headers: { 'x-oss-meta-big': 'x'.repeat(9000) } }), { status: 403, code: 'SignatureDoesNotMatch' })
})

// ── fuzz: random methods, targets, queries, headers and bodies never get a 5xx ──

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'FOO']
const SEGMENTS = ['fzz', 'obj', 'missing', 'a%20b', '%zz', '%C3%28', '%2F', '..', '.', '', '中', '%E4%B8%AD', 'x'.repeat(1030), '+', '%00', '\\', 'UP', 'ab']
const QUERY_NAMES = [
  'acl', 'uploads', 'uploadId', 'partNumber', 'append', 'position', 'delete', 'versions', 'versionId', 'list-type', 'max-keys',
  'continuation-token', 'start-after', 'fetch-owner', 'encoding-type', 'prefix', 'marker', 'delimiter', 'key-marker', 'max-uploads',
  'max-parts', 'part-number-marker', 'upload-id-marker', 'website', 'worm', 'wormId', 'wormExtend', 'location', 'bucketInfo',
  'objectMeta', 'lifecycle', 'tagging', 'x-oss-process', 'response-content-type', 'OSSAccessKeyId', 'Expires', 'Signature',
  'x-oss-signature-version', 'x-oss-credential', 'x-oss-date', 'x-oss-expires', 'x-oss-signature',
]
const QUERY_VALUES = ['', '0', '1', '-1', '2', '1001', '10000', '99999999999999999999', 'abc', 'null', 'url', 'true', '%zz', 'a%20b', '%C3%28', 'OSS4-HMAC-SHA256']
const HEADERS: Array<[string, string[]]> = [
  ['content-md5', ['', 'AAAA', 'not-base64', '1B2M2Y8AsgTpgAmY7PhCfg==']],
  ['content-type', ['application/xml', 'text/plain', '']],
  ['x-oss-copy-source', ['/fzz/obj', '/missing/obj', 'nonsense', '/fzz/', '/fzz/%zz', '']],
  ['range', ['bytes=0-0', 'bytes=5-1', 'bytes=-1', 'bytes=abc', 'items=0-1']],
  ['if-match', ['"x"', '*', '']],
  ['if-modified-since', ['Wed, 21 Oct 2015 07:28:00 GMT', 'garbage']],
  ['x-oss-acl', ['private', 'public-read', 'nope']],
  ['x-oss-object-acl', ['default', 'nope']],
  ['x-oss-storage-class', ['Standard', 'IA', 'Nope']],
  ['x-oss-forbid-overwrite', ['true', 'false', 'maybe']],
  ['x-oss-meta-a', ['1', 'x'.repeat(9000)]],
  ['x-oss-metadata-directive', ['COPY', 'REPLACE', 'OTHER']],
  ['authorization', ['OSS', 'OSS a:b', 'OSS4-HMAC-SHA256 Credential=a/20200101/cn-hangzhou/oss/aliyun_v4_request,Signature=00', 'Basic x']],
  ['x-oss-date', ['garbage', '20200101T000000Z', 'Wed, 21 Oct 2015 07:28:00 GMT']],
  ['encoding-type', ['url', 'x']],
  ['x-oss-worm-id', ['x']],
]
const BODIES = ['', 'x', '<Delete><Object><Key>obj</Key></Object></Delete>', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>', '<InitiateWormConfiguration><RetentionPeriodInDays>1</RetentionPeriodInDays></InitiateWormConfiguration>', '<CreateBucketConfiguration><StorageClass>IA</StorageClass></CreateBucketConfiguration>', '<', '<a>&</a>']

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

void test('Random methods, paths, queries, headers and bodies never answer 5xx, and every error is an OSS document', { timeout: 240_000 }, async (t) => {
  const server = await startTestServer(t)
  await setUp(server, 'fzz')
  assert.equal((await signed(server, 'PUT', 'fzz', undefined, { query: 'acl', subresources: { acl: '' }, headers: { 'x-oss-acl': 'public-read-write' } })).status, 200)

  const request = fc.record({
    method: fc.constantFrom(...METHODS),
    segments: fc.array(fc.constantFrom(...SEGMENTS), { minLength: 0, maxLength: 3 }),
    trailingSlash: fc.boolean(),
    query: fc.array(fc.tuple(fc.constantFrom(...QUERY_NAMES), fc.constantFrom(...QUERY_VALUES)), { maxLength: 3 }),
    headers: fc.array(fc.constantFrom(...HEADERS).chain(([name, values]) => fc.tuple(fc.constant(name), fc.constantFrom(...values))), { maxLength: 3 }),
    body: fc.constantFrom(...BODIES),
    sign: fc.boolean(),
    host: fc.constantFrom('', 'fzz.localhost', 'fzz.oss-cn-hangzhou.aliyuncs.com', '.oss-cn-hangzhou.aliyuncs.com', 'other.example'),
  })

  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const rawPath = `/${r.segments.join('/')}${r.trailingSlash && r.segments.length > 0 ? '/' : ''}`
      const rawQuery = r.query.map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join('&')
      const path = rawQuery === '' ? rawPath : `${rawPath}?${rawQuery}`
      const headers: Record<string, string> = {}
      for (const [name, value] of r.headers) headers[name] = value
      if (r.host !== '') headers.host = r.host
      let sign: { bucket?: string; key?: string; subresources: Record<string, string> } | undefined
      if (r.sign && headers.authorization === undefined) {
        const [bucket, ...rest] = r.segments
        const key = rest.join('/') + (r.trailingSlash && rest.length > 0 ? '/' : '')
        const subresources: Record<string, string> = {}
        for (const [k, v] of r.query) if ((V1_SUBRESOURCES.has(k) || k.startsWith('x-oss-')) && !(k in subresources)) subresources[k] = safeDecode(v) ?? v
        const decodedBucket = bucket === undefined || bucket === '' ? undefined : safeDecode(bucket)
        const decodedKey = key === '' ? undefined : safeDecode(key)
        sign = { ...(decodedBucket !== undefined ? { bucket: decodedBucket } : {}), ...(decodedKey !== undefined ? { key: decodedKey } : {}), subresources }
        if (headers['x-oss-date'] !== undefined) delete headers['x-oss-date']
      }
      // Non-ASCII goes on the wire as raw UTF-8 bytes (node:http sends a latin1 string byte for byte).
      const wirePath = Buffer.from(path, 'utf8').toString('latin1')
      const res = await raw(server, { method: r.method, path: wirePath, headers, body: r.body, ...(sign !== undefined ? { sign } : {}) })
      const what = `${r.method} ${path.slice(0, 200)} [${Object.keys(headers).join(', ')}] → ${res.status} ${res.text.slice(0, 300)}`
      assert.ok(res.status < 500, what)
      assert.ok(typeof res.headers['x-oss-request-id'] === 'string', `x-oss-request-id on every answer: ${what}`)
      if (res.status >= 400 && r.method !== 'HEAD') assertErrorShape(res)
    }),
    { numRuns: 400, includeErrorInReport: true },
  )
  // Still serving normally afterwards.
  assert.equal((await signed(server, 'PUT', 'after-fuzz', undefined)).status, 200)
})
