/**
 * Multipart upload over the wire (oss-api.md §7, §9): raw signed HTTP for exact status codes,
 * headers and XML; ali-oss (V1 and V4) for the SDK's managed upload, copy and resume.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { crc64, crc64Combine } from '../../src/util/crc64.js'
import { ossClient } from '../support/oss-client.js'
import { raw, signed, xmlField, type RawResponse } from '../support/raw.js'
import { startTestServer, type TestServer } from '../support/server.js'

const KB100 = 100 * 1024

function md5Hex(b: Buffer | string): string {
  return createHash('md5').update(b).digest('hex').toUpperCase()
}

function md5Base64(b: Buffer | string): string {
  return createHash('md5').update(b).digest('base64')
}

/** The multipart ETag (oss-api.md §9): MD5 of the concatenated binary part MD5s, then `-N`. */
function multipartEtag(parts: readonly Buffer[]): string {
  const h = createHash('md5')
  for (const p of parts) h.update(createHash('md5').update(p).digest())
  return `"${h.digest('hex').toUpperCase()}-${parts.length}"`
}

function xmlFields(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g'))].map((m) => m[1] as string)
}

function errorCode(r: RawResponse): string | undefined {
  return xmlField(r.text, 'Code')
}

function query(params: Record<string, string | undefined>): string {
  return Object.entries(params)
    .map(([k, v]) => (v === undefined ? k : `${k}=${encodeURIComponent(v)}`))
    .join('&')
}

const SUBRESOURCES = new Set(['uploads', 'uploadId', 'partNumber'])

/** A signed path-style request; the sub-resources among `params` are signed, the rest only sent. */
function call(
  s: TestServer,
  method: string,
  bucket: string,
  key: string | undefined,
  params: Record<string, string | undefined> = {},
  extra: { headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<RawResponse> {
  const sub = Object.fromEntries(Object.entries(params).filter(([k]) => SUBRESOURCES.has(k)))
  return signed(s, method, bucket, key, { ...extra, ...(Object.keys(params).length > 0 ? { query: query(params) } : {}), subresources: sub })
}

async function makeBucket(s: TestServer, bucket: string, acl?: string): Promise<void> {
  const r = await call(s, 'PUT', bucket, undefined, {}, acl === undefined ? {} : { headers: { 'x-oss-acl': acl } })
  assert.equal(r.status, 200, r.text)
}

async function initiate(s: TestServer, bucket: string, key: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await call(s, 'POST', bucket, key, { uploads: undefined }, { headers })
  assert.equal(r.status, 200, r.text)
  const id = xmlField(r.text, 'UploadId')
  assert.ok(id !== undefined && id !== '')
  return id
}

async function uploadPart(s: TestServer, bucket: string, key: string, uploadId: string, n: number, body: Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return call(s, 'PUT', bucket, key, { partNumber: String(n), uploadId }, { body, headers })
}

function completeXml(parts: ReadonlyArray<readonly [number, string]>): string {
  return `<CompleteMultipartUpload>${parts.map(([n, e]) => `<Part><PartNumber>${n}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`
}

function complete(s: TestServer, bucket: string, key: string, uploadId: string, parts: ReadonlyArray<readonly [number, string]>, headers: Record<string, string> = {}): Promise<RawResponse> {
  return call(s, 'POST', bucket, key, { uploadId }, { body: completeXml(parts), headers })
}

async function putObject(s: TestServer, bucket: string, key: string, body: Buffer | string): Promise<void> {
  const r = await call(s, 'PUT', bucket, key, {}, { body })
  assert.equal(r.status, 200, r.text)
}

async function getBody(s: TestServer, bucket: string, key: string): Promise<RawResponse> {
  const r = await call(s, 'GET', bucket, key)
  assert.equal(r.status, 200, r.text)
  return r
}

/** Uploads `parts` as parts 1..N and returns their ETag headers. */
async function uploadAll(s: TestServer, bucket: string, key: string, uploadId: string, parts: readonly Buffer[]): Promise<string[]> {
  const etags: string[] = []
  for (const [i, p] of parts.entries()) {
    const r = await uploadPart(s, bucket, key, uploadId, i + 1, p)
    assert.equal(r.status, 200, r.text)
    etags.push(r.headers.etag as string)
  }
  return etags
}

void describe('multipart upload', () => {
  void test('InitiateMultipartUpload answers Bucket, Key and UploadId, and its headers apply to the completed object', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const r = await call(s, 'POST', 'mpb', 'dir/obj.bin', { uploads: undefined }, {
      headers: {
        'content-type': 'text/plain; charset=gbk',
        'cache-control': 'no-cache',
        'content-disposition': 'attachment; filename="x.txt"',
        'x-oss-meta-color': 'blue',
        'x-oss-storage-class': 'IA',
        'x-oss-tagging': 'a=1&b=2',
      },
    })
    assert.equal(r.status, 200, r.text)
    assert.equal(xmlField(r.text, 'Bucket'), 'mpb')
    assert.equal(xmlField(r.text, 'Key'), 'dir/obj.bin')
    const uploadId = xmlField(r.text, 'UploadId') as string
    const part = randomBytes(1000)
    const [etag] = await uploadAll(s, 'mpb', 'dir/obj.bin', uploadId, [part])
    const c = await complete(s, 'mpb', 'dir/obj.bin', uploadId, [[1, etag as string]])
    assert.equal(c.status, 200, c.text)
    const head = await call(s, 'HEAD', 'mpb', 'dir/obj.bin')
    assert.equal(head.status, 200)
    assert.equal(head.headers['content-type'], 'text/plain; charset=gbk')
    assert.equal(head.headers['cache-control'], 'no-cache')
    assert.equal(head.headers['content-disposition'], 'attachment; filename="x.txt"')
    assert.equal(head.headers['x-oss-meta-color'], 'blue')
    assert.equal(head.headers['x-oss-storage-class'], 'IA')
    assert.equal(head.headers['x-oss-tagging-count'], '2')
    assert.equal(head.headers['x-oss-object-type'], 'Multipart')
    assert.equal(head.headers['content-length'], '1000')
  })

  void test('UploadPart answers the quoted MD5 as ETag and the part CRC-64, and replaces a part uploaded again', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'k')
    const first = Buffer.from('first version of part one')
    const r1 = await uploadPart(s, 'mpb', 'k', id, 1, first, { 'content-md5': md5Base64(first) })
    assert.equal(r1.status, 200, r1.text)
    assert.equal(r1.headers.etag, `"${md5Hex(first)}"`)
    assert.equal(r1.headers['x-oss-hash-crc64ecma'], crc64(first).toString())
    assert.equal(r1.body.length, 0)
    const hello = await uploadPart(s, 'mpb', 'k', id, 1, Buffer.from('hello'))
    assert.equal(hello.headers.etag, '"5D41402ABC4B2A76B9719D911017C592"')
    assert.equal(hello.headers['x-oss-hash-crc64ecma'], '11177612005948864433')
    const list = await call(s, 'GET', 'mpb', 'k', { uploadId: id })
    assert.equal(list.status, 200, list.text)
    assert.deepEqual(xmlFields(list.text, 'PartNumber'), ['1'])
    assert.equal(xmlField(list.text, 'ETag'), '"5D41402ABC4B2A76B9719D911017C592"')
    assert.equal(xmlField(list.text, 'Size'), '5')
  })

  void test('UploadPart with a wrong or malformed Content-MD5 answers 400 InvalidDigest and stores no part', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'k')
    for (const md5 of [md5Base64('something else'), 'not base64 at all!']) {
      const r = await uploadPart(s, 'mpb', 'k', id, 1, Buffer.from('body'), { 'content-md5': md5 })
      assert.equal(r.status, 400, md5)
      assert.equal(errorCode(r), 'InvalidDigest')
    }
    const list = await call(s, 'GET', 'mpb', 'k', { uploadId: id })
    assert.deepEqual(xmlFields(list.text, 'Part'), [])
  })

  void test('UploadPart answers 400 InvalidArgument for a part number outside 1..10000', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'k')
    for (const n of ['0', '10001', 'x', '-1']) {
      const r = await call(s, 'PUT', 'mpb', 'k', { partNumber: n, uploadId: id }, { body: 'x' })
      assert.equal(r.status, 400, n)
      assert.equal(errorCode(r), 'InvalidArgument', n)
    }
    const ok = await uploadPart(s, 'mpb', 'k', id, 10000, Buffer.from('x'))
    assert.equal(ok.status, 200)
  })

  void test('UploadPartCopy of a whole source answers CopyPartResult and the ETag header, without Content-Range', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const src = randomBytes(KB100 + 17)
    await putObject(s, 'mpb', 'src', src)
    const id = await initiate(s, 'mpb', 'dst')
    const r = await call(s, 'PUT', 'mpb', 'dst', { partNumber: '1', uploadId: id }, { headers: { 'x-oss-copy-source': '/mpb/src' } })
    assert.equal(r.status, 200, r.text)
    assert.equal(r.headers.etag, `"${md5Hex(src)}"`)
    assert.equal(r.headers['content-range'], undefined)
    assert.equal(xmlField(r.text, 'ETag'), `"${md5Hex(src)}"`)
    assert.ok(xmlField(r.text, 'LastModified') !== undefined)
    const tail = Buffer.from('tail')
    const t2 = await uploadPart(s, 'mpb', 'dst', id, 2, tail)
    const c = await complete(s, 'mpb', 'dst', id, [[1, r.headers.etag], [2, t2.headers.etag as string]])
    assert.equal(c.status, 200, c.text)
    assert.deepEqual((await getBody(s, 'mpb', 'dst')).body, Buffer.concat([src, tail]))
  })

  void test('UploadPartCopy with x-oss-copy-source-range copies those bytes and answers Content-Range', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const src = randomBytes(300_000)
    await putObject(s, 'mpb', 'src', src)
    const id = await initiate(s, 'mpb', 'dst')
    const a = await call(s, 'PUT', 'mpb', 'dst', { partNumber: '1', uploadId: id }, { headers: { 'x-oss-copy-source': '/mpb/src', 'x-oss-copy-source-range': 'bytes=0-102399' } })
    assert.equal(a.status, 200, a.text)
    assert.equal(a.headers['content-range'], 'bytes 0-102399/300000')
    assert.equal(a.headers.etag, `"${md5Hex(src.subarray(0, KB100))}"`)
    const b = await call(s, 'PUT', 'mpb', 'dst', { partNumber: '2', uploadId: id }, { headers: { 'x-oss-copy-source': '/mpb/src', 'x-oss-copy-source-range': 'bytes=250000-299999' } })
    assert.equal(b.status, 200, b.text)
    assert.equal(b.headers['content-range'], 'bytes 250000-299999/300000')
    assert.equal(b.headers.etag, `"${md5Hex(src.subarray(250_000))}"`)
    const c = await complete(s, 'mpb', 'dst', id, [[1, a.headers.etag], [2, b.headers.etag]])
    assert.equal(c.status, 200, c.text)
    assert.deepEqual((await getBody(s, 'mpb', 'dst')).body, Buffer.concat([src.subarray(0, KB100), src.subarray(250_000)]))
  })

  void test('UploadPartCopy with a range beyond the source copies the whole source and answers no Content-Range', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const src = Buffer.from('0123456789')
    await putObject(s, 'mpb', 'src', src)
    const id = await initiate(s, 'mpb', 'dst')
    const r = await call(s, 'PUT', 'mpb', 'dst', { partNumber: '1', uploadId: id }, { headers: { 'x-oss-copy-source': '/mpb/src', 'x-oss-copy-source-range': 'bytes=5-15' } })
    assert.equal(r.status, 200, r.text)
    assert.equal(r.headers['content-range'], undefined)
    assert.equal(r.headers.etag, `"${md5Hex(src)}"`)
  })

  void test('UploadPartCopy answers 404 NoSuchKey for a missing source and 412 for a failed source condition', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    await putObject(s, 'mpb', 'src', 'abc')
    const id = await initiate(s, 'mpb', 'dst')
    const missing = await call(s, 'PUT', 'mpb', 'dst', { partNumber: '1', uploadId: id }, { headers: { 'x-oss-copy-source': '/mpb/nope' } })
    assert.equal(missing.status, 404)
    assert.equal(errorCode(missing), 'NoSuchKey')
    const cond = await call(s, 'PUT', 'mpb', 'dst', { partNumber: '1', uploadId: id }, { headers: { 'x-oss-copy-source': '/mpb/src', 'x-oss-copy-source-if-match': '"00000000000000000000000000000000"' } })
    assert.equal(cond.status, 412)
    assert.equal(errorCode(cond), 'PreconditionFailed')
  })

  void test('UploadPartCopy by an anonymous caller answers 403 AccessDenied for a private source', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'open', 'public-read-write')
    await makeBucket(s, 'closed')
    await putObject(s, 'closed', 'secret', 'top secret bytes')
    const init = await raw(s, { method: 'POST', path: '/open/dst?uploads' })
    assert.equal(init.status, 200, init.text)
    const id = xmlField(init.text, 'UploadId') as string
    const r = await raw(s, { method: 'PUT', path: `/open/dst?partNumber=1&uploadId=${id}`, headers: { 'x-oss-copy-source': '/closed/secret' } })
    assert.equal(r.status, 403, r.text)
    assert.equal(errorCode(r), 'AccessDenied')
    const list = await call(s, 'GET', 'open', 'dst', { uploadId: id })
    assert.deepEqual(xmlFields(list.text, 'Part'), [])
  })

  void test('the multipart ETag is the MD5 of the binary part MD5s plus the part count (hello, world vector)', () => {
    assert.equal(multipartEtag([Buffer.from('hello'), Buffer.from('world')]), '"065947336A2F2A95BA8899F3675C3BE6-2"')
  })

  void test('CompleteMultipartUpload answers the multipart ETag and the CRC-64 of the whole object, combined from the parts', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'a/b c.bin')
    const parts = [randomBytes(KB100), randomBytes(KB100 + 1), randomBytes(33)]
    const etags = await uploadAll(s, 'mpb', 'a/b c.bin', id, parts)
    const c = await complete(s, 'mpb', 'a/b c.bin', id, etags.map((e, i) => [i + 1, e] as const))
    assert.equal(c.status, 200, c.text)
    const whole = Buffer.concat(parts)
    assert.equal(c.headers.etag, multipartEtag(parts))
    assert.equal(xmlField(c.text, 'ETag'), multipartEtag(parts))
    assert.equal(xmlField(c.text, 'Bucket'), 'mpb')
    assert.equal(xmlField(c.text, 'Key'), 'a/b c.bin')
    assert.match(xmlField(c.text, 'Location') ?? '', /^http:\/\/mpb\.127\.0\.0\.1:\d+\/a\/b%20c\.bin$/)
    const combined = parts.reduce((acc, p) => crc64Combine(acc, crc64(p), p.length), 0n)
    assert.equal(combined, crc64(whole))
    assert.equal(c.headers['x-oss-hash-crc64ecma'], crc64(whole).toString())
    const got = await getBody(s, 'mpb', 'a/b c.bin')
    assert.deepEqual(got.body, whole)
    assert.equal(got.headers.etag, multipartEtag(parts))
    assert.equal(got.headers['x-oss-hash-crc64ecma'], crc64(whole).toString())
    assert.equal(got.headers['content-md5'], undefined)
    const gone = await call(s, 'GET', 'mpb', 'a/b c.bin', { uploadId: id })
    assert.equal(errorCode(gone), 'NoSuchUpload')
  })

  void test('CompleteMultipartUpload keeps only the listed parts and accepts ETags without quotes', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'k')
    const parts = [randomBytes(KB100), randomBytes(10), randomBytes(KB100), randomBytes(20)]
    const etags = await uploadAll(s, 'mpb', 'k', id, parts)
    const c = await complete(s, 'mpb', 'k', id, [[1, (etags[0] as string).replaceAll('"', '')], [3, etags[2] as string], [4, (etags[3] as string).toLowerCase()]])
    assert.equal(c.status, 200, c.text)
    const chosen = [parts[0], parts[2], parts[3]] as Buffer[]
    assert.equal(c.headers.etag, multipartEtag(chosen))
    assert.deepEqual((await getBody(s, 'mpb', 'k')).body, Buffer.concat(chosen))
  })

  void test('CompleteMultipartUpload answers 400 InvalidPart for a wrong ETag or a part never uploaded, and keeps the upload', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'k')
    const parts = [randomBytes(KB100), randomBytes(10)]
    const etags = await uploadAll(s, 'mpb', 'k', id, parts)
    const cases: Array<Array<readonly [number, string]>> = [
      [[1, etags[0] as string], [2, `"${md5Hex('other')}"`]],
      [[1, etags[0] as string], [3, etags[1] as string]],
      [],
    ]
    for (const list of cases) {
      const r = await complete(s, 'mpb', 'k', id, list)
      assert.equal(r.status, 400, JSON.stringify(list))
      assert.equal(errorCode(r), 'InvalidPart', JSON.stringify(list))
    }
    assert.equal((await call(s, 'HEAD', 'mpb', 'k')).status, 404)
    const list = await call(s, 'GET', 'mpb', 'k', { uploadId: id })
    assert.deepEqual(xmlFields(list.text, 'PartNumber'), ['1', '2'])
  })

  void test('CompleteMultipartUpload answers 400 InvalidPartOrder for descending or repeated part numbers', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'k')
    const etags = await uploadAll(s, 'mpb', 'k', id, [randomBytes(KB100), randomBytes(KB100)])
    const e1 = etags[0] as string
    const e2 = etags[1] as string
    for (const list of [[[2, e2], [1, e1]], [[1, e1], [1, e1]], [[1, e1], [2, e2], [2, e2]]] as Array<Array<readonly [number, string]>>) {
      const r = await complete(s, 'mpb', 'k', id, list)
      assert.equal(r.status, 400, JSON.stringify(list))
      assert.equal(errorCode(r), 'InvalidPartOrder', JSON.stringify(list))
    }
    const outOfRange = await complete(s, 'mpb', 'k', id, [[0, e1]])
    assert.equal(errorCode(outOfRange), 'InvalidPartOrder')
    assert.equal((await complete(s, 'mpb', 'k', id, [[1, e1], [2, e2]])).status, 200)
  })

  void test('CompleteMultipartUpload answers 400 EntityTooSmall when a part other than the last is under 100 KB', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'k')
    const etags = await uploadAll(s, 'mpb', 'k', id, [randomBytes(KB100 - 1), randomBytes(KB100)])
    const r = await complete(s, 'mpb', 'k', id, [[1, etags[0] as string], [2, etags[1] as string]])
    assert.equal(r.status, 400, r.text)
    assert.equal(errorCode(r), 'EntityTooSmall')
    // The same small part alone is the last part, which may be any size.
    const ok = await complete(s, 'mpb', 'k', id, [[1, etags[0] as string]])
    assert.equal(ok.status, 200, ok.text)
  })

  void test('CompleteMultipartUpload answers 400 MalformedXML for a broken body and InvalidDigest for a wrong Content-MD5', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'k')
    const [etag] = await uploadAll(s, 'mpb', 'k', id, [Buffer.from('x')])
    const bad = await call(s, 'POST', 'mpb', 'k', { uploadId: id }, { body: '<CompleteMultipartUpload><Part>' })
    assert.equal(bad.status, 400)
    assert.equal(errorCode(bad), 'MalformedXML')
    const body = completeXml([[1, etag as string]])
    const digest = await call(s, 'POST', 'mpb', 'k', { uploadId: id }, { body, headers: { 'content-md5': md5Base64('other') } })
    assert.equal(digest.status, 400)
    assert.equal(errorCode(digest), 'InvalidDigest')
    const ok = await call(s, 'POST', 'mpb', 'k', { uploadId: id }, { body, headers: { 'content-md5': md5Base64(body) } })
    assert.equal(ok.status, 200, ok.text)
  })

  void test('CompleteMultipartUpload with x-oss-complete-all: yes and no body completes with every uploaded part', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'k')
    const parts = [randomBytes(KB100), randomBytes(KB100), randomBytes(5)]
    await uploadAll(s, 'mpb', 'k', id, parts)
    const r = await call(s, 'POST', 'mpb', 'k', { uploadId: id }, { headers: { 'x-oss-complete-all': 'yes' } })
    assert.equal(r.status, 200, r.text)
    assert.equal(r.headers.etag, multipartEtag(parts))
    assert.deepEqual((await getBody(s, 'mpb', 'k')).body, Buffer.concat(parts))
  })

  void test('CompleteMultipartUpload with x-oss-forbid-overwrite: true answers 409 FileAlreadyExists and leaves the object', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    await putObject(s, 'mpb', 'k', 'old')
    const id = await initiate(s, 'mpb', 'k')
    const [etag] = await uploadAll(s, 'mpb', 'k', id, [Buffer.from('new')])
    const r = await complete(s, 'mpb', 'k', id, [[1, etag as string]], { 'x-oss-forbid-overwrite': 'true' })
    assert.equal(r.status, 409, r.text)
    assert.equal(errorCode(r), 'FileAlreadyExists')
    assert.equal((await getBody(s, 'mpb', 'k')).text, 'old')
    const overwrite = await complete(s, 'mpb', 'k', id, [[1, etag as string]], { 'x-oss-forbid-overwrite': 'false' })
    assert.equal(overwrite.status, 200, overwrite.text)
    assert.equal((await getBody(s, 'mpb', 'k')).text, 'new')
  })

  void test('AbortMultipartUpload answers 204, after which the upload is NoSuchUpload everywhere', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'k')
    const [etag] = await uploadAll(s, 'mpb', 'k', id, [Buffer.from('part')])
    const abort = await call(s, 'DELETE', 'mpb', 'k', { uploadId: id })
    assert.equal(abort.status, 204)
    assert.equal(abort.body.length, 0)
    const after = [
      await call(s, 'DELETE', 'mpb', 'k', { uploadId: id }),
      await call(s, 'GET', 'mpb', 'k', { uploadId: id }),
      await uploadPart(s, 'mpb', 'k', id, 2, Buffer.from('x')),
      await complete(s, 'mpb', 'k', id, [[1, etag as string]]),
    ]
    for (const r of after) {
      assert.equal(r.status, 404)
      assert.equal(errorCode(r), 'NoSuchUpload')
    }
    const uploads = await call(s, 'GET', 'mpb', undefined, { uploads: undefined })
    assert.deepEqual(xmlFields(uploads.text, 'Upload'), [])
    // The bucket holds nothing now, so it can be deleted.
    assert.equal((await call(s, 'DELETE', 'mpb', undefined)).status, 204)
  })

  void test('an unfinished upload makes DeleteBucket answer 409 BucketNotEmpty', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    await initiate(s, 'mpb', 'k')
    const r = await call(s, 'DELETE', 'mpb', undefined)
    assert.equal(r.status, 409)
    assert.equal(errorCode(r), 'BucketNotEmpty')
  })

  void test('an uploadId used with another key answers 404 NoSuchUpload for every operation', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'mine')
    const [etag] = await uploadAll(s, 'mpb', 'mine', id, [Buffer.from('part')])
    await putObject(s, 'mpb', 'src', 'src')
    const results = [
      await uploadPart(s, 'mpb', 'other', id, 1, Buffer.from('x')),
      await call(s, 'PUT', 'mpb', 'other', { partNumber: '1', uploadId: id }, { headers: { 'x-oss-copy-source': '/mpb/src' } }),
      await call(s, 'GET', 'mpb', 'other', { uploadId: id }),
      await complete(s, 'mpb', 'other', id, [[1, etag as string]]),
      await call(s, 'DELETE', 'mpb', 'other', { uploadId: id }),
      await call(s, 'GET', 'mpb', 'mine', { uploadId: 'NOSUCHUPLOADID' }),
    ]
    for (const r of results) {
      assert.equal(r.status, 404, r.text)
      assert.equal(errorCode(r), 'NoSuchUpload')
    }
    const list = await call(s, 'GET', 'mpb', 'mine', { uploadId: id })
    assert.deepEqual(xmlFields(list.text, 'PartNumber'), ['1'])
  })

  void test('ListParts pages with max-parts and an exclusive part-number-marker', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const id = await initiate(s, 'mpb', 'k')
    const parts = [1, 2, 3, 4, 5].map((n) => Buffer.from(`part ${n}`))
    await uploadAll(s, 'mpb', 'k', id, parts)
    const pages: string[][] = []
    let marker = '0'
    for (;;) {
      const r = await call(s, 'GET', 'mpb', 'k', { uploadId: id, 'max-parts': '2', 'part-number-marker': marker })
      assert.equal(r.status, 200, r.text)
      assert.equal(xmlField(r.text, 'UploadId'), id)
      assert.equal(xmlField(r.text, 'MaxParts'), '2')
      assert.equal(xmlField(r.text, 'PartNumberMarker'), marker)
      pages.push(xmlFields(r.text, 'PartNumber'))
      if (xmlField(r.text, 'IsTruncated') !== 'true') {
        assert.equal(xmlField(r.text, 'IsTruncated'), 'false')
        break
      }
      marker = xmlField(r.text, 'NextPartNumberMarker') as string
      assert.ok(pages.length < 10)
    }
    assert.deepEqual(pages, [['1', '2'], ['3', '4'], ['5']])
    const all = await call(s, 'GET', 'mpb', 'k', { uploadId: id })
    assert.equal(xmlField(all.text, 'MaxParts'), '1000')
    assert.deepEqual(xmlFields(all.text, 'Size'), parts.map((p) => String(p.length)))
    assert.deepEqual(xmlFields(all.text, 'ETag'), parts.map((p) => `"${md5Hex(p)}"`))
    const bad = await call(s, 'GET', 'mpb', 'k', { uploadId: id, 'max-parts': '1001' })
    assert.equal(errorCode(bad), 'InvalidArgument')
  })

  void test('ListMultipartUploads orders by key then upload id, and applies prefix, delimiter and truncation', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const b1 = await initiate(s, 'mpb', 'b')
    const a1 = await initiate(s, 'mpb', 'a/1')
    const b2 = await initiate(s, 'mpb', 'b')
    const a2 = await initiate(s, 'mpb', 'a/2')
    const c = await initiate(s, 'mpb', 'c/x/y')
    assert.ok(b1 < b2, 'upload ids sort in creation order')
    const list = async (params: Record<string, string>): Promise<string> => {
      const r = await call(s, 'GET', 'mpb', undefined, { uploads: undefined, ...params })
      assert.equal(r.status, 200, r.text)
      return r.text
    }
    const pairs = (xml: string): string[] => [...xml.matchAll(/<Upload><Key>([^<]*)<\/Key><UploadId>([^<]*)<\/UploadId>/g)].map((m) => `${m[1] ?? ''}:${m[2] ?? ''}`)
    const all = await list({})
    assert.deepEqual(pairs(all), [`a/1:${a1}`, `a/2:${a2}`, `b:${b1}`, `b:${b2}`, `c/x/y:${c}`])
    assert.equal(xmlField(all, 'IsTruncated'), 'false')
    assert.equal(xmlField(all, 'MaxUploads'), '1000')
    assert.equal(xmlFields(all, 'Initiated').length, 5)

    assert.deepEqual(pairs(await list({ prefix: 'a/' })), [`a/1:${a1}`, `a/2:${a2}`])
    const delimited = await list({ delimiter: '/' })
    assert.deepEqual(pairs(delimited), [`b:${b1}`, `b:${b2}`])
    assert.deepEqual(xmlFields(delimited, 'Prefix').filter((p) => p !== ''), ['a/', 'c/'])
    assert.equal(xmlField(delimited, 'Delimiter'), '/')
    const nested = await list({ prefix: 'c/', delimiter: '/' })
    assert.deepEqual(pairs(nested), [])
    assert.ok(nested.includes('<CommonPrefixes><Prefix>c/x/</Prefix></CommonPrefixes>'), nested)

    const page1 = await list({ 'max-uploads': '3' })
    assert.deepEqual(pairs(page1), [`a/1:${a1}`, `a/2:${a2}`, `b:${b1}`])
    assert.equal(xmlField(page1, 'IsTruncated'), 'true')
    assert.equal(xmlField(page1, 'NextKeyMarker'), 'b')
    assert.equal(xmlField(page1, 'NextUploadIdMarker'), b1)
    const page2 = await list({ 'max-uploads': '3', 'key-marker': 'b', 'upload-id-marker': b1 })
    assert.deepEqual(pairs(page2), [`b:${b2}`, `c/x/y:${c}`])
    assert.equal(xmlField(page2, 'IsTruncated'), 'false')
    assert.equal(xmlField(page2, 'KeyMarker'), 'b')
    assert.equal(xmlField(page2, 'UploadIdMarker'), b1)
  })

  void test('ListMultipartUploads: key-marker alone skips that key, upload-id-marker alone is ignored', async (t) => {
    const s = await startTestServer(t)
    await makeBucket(s, 'mpb')
    const a = await initiate(s, 'mpb', 'a')
    const b1 = await initiate(s, 'mpb', 'b')
    const b2 = await initiate(s, 'mpb', 'b')
    const c = await initiate(s, 'mpb', 'c')
    const ids = async (params: Record<string, string>): Promise<string[]> => {
      const r = await call(s, 'GET', 'mpb', undefined, { uploads: undefined, ...params })
      assert.equal(r.status, 200, r.text)
      return xmlFields(r.text, 'UploadId').filter((x) => x !== '')
    }
    assert.deepEqual(await ids({ 'key-marker': 'b' }), [c])
    assert.deepEqual(await ids({ 'key-marker': 'a' }), [b1, b2, c])
    assert.deepEqual(await ids({ 'upload-id-marker': b1 }), [a, b1, b2, c])
    assert.deepEqual(await ids({ 'key-marker': 'b', 'upload-id-marker': b2 }), [c])
    assert.deepEqual(await ids({ 'key-marker': 'b', 'upload-id-marker': '' }), [c])
    // The upload-id marker is compared as a string, so any value works, not only real ids.
    assert.deepEqual(await ids({ 'key-marker': 'b', 'upload-id-marker': '0' }), [b1, b2, c])
  })

  void test('ListMultipartUploads answers 404 NoSuchBucket for a missing bucket', async (t) => {
    const s = await startTestServer(t)
    const r = await call(s, 'GET', 'nobucket', undefined, { uploads: undefined })
    assert.equal(r.status, 404)
    assert.equal(errorCode(r), 'NoSuchBucket')
  })
})

void describe('multipart upload through ali-oss', () => {
  for (const v4 of [false, true]) {
    void test(`ali-oss multipartUpload (${v4 ? 'V4' : 'V1'}) stores the bytes with a multipart ETag and the given meta`, async (t) => {
      const s = await startTestServer(t)
      const admin = ossClient(s, { v4 })
      await admin.putBucket('sdk')
      const client = ossClient(s, { v4, bucket: 'sdk' })
      const data = randomBytes(3 * KB100 + 5000)
      const res = await client.multipartUpload('big/file.bin', data, { partSize: KB100, meta: { owner: 'me' } as never, mime: 'application/x-test' })
      assert.equal(res.res.status, 200)
      const chunks = [0, 1, 2, 3].map((i) => data.subarray(i * KB100, (i + 1) * KB100))
      assert.equal((res as unknown as { etag: string }).etag, multipartEtag(chunks))
      const got = await client.get('big/file.bin')
      assert.deepEqual(got.content, data)
      const head = await client.head('big/file.bin')
      assert.equal((head.meta as Record<string, string>).owner, 'me')
      assert.equal((head.res.headers as Record<string, string>)['content-type'], 'application/x-test')
      const uploads = await client.listUploads({})
      assert.deepEqual(uploads.uploads, [])
    })
  }

  void test('ali-oss multipartUploadCopy copies a source through ranged UploadPartCopy', async (t) => {
    const s = await startTestServer(t)
    const admin = ossClient(s)
    await admin.putBucket('from')
    await admin.putBucket('into')
    const data = randomBytes(2 * KB100 + 777)
    await ossClient(s, { bucket: 'from' }).put('src.bin', data)
    const client = ossClient(s, { bucket: 'into' })
    const res = await client.multipartUploadCopy('dst.bin', { sourceKey: 'src.bin', sourceBucketName: 'from' } as never, { partSize: KB100 })
    assert.equal(res.res.status, 200)
    const got = await client.get('dst.bin')
    assert.deepEqual(got.content, data)
    const chunks = [0, 1, 2].map((i) => data.subarray(i * KB100, (i + 1) * KB100))
    assert.equal((got.res.headers as Record<string, string>).etag, multipartEtag(chunks))
  })

  void test('ali-oss multipartUpload resumes from a checkpoint, uploading only the missing parts into the same upload', async (t) => {
    const s = await startTestServer(t)
    await ossClient(s).putBucket('sdk')
    const client = ossClient(s, { bucket: 'sdk' })
    const data = randomBytes(5 * KB100)
    interface Checkpoint {
      uploadId: string
      doneParts: Array<{ number: number; etag: string }>
    }
    let saved: Checkpoint | undefined
    const interrupted = new Error('interrupted after two parts')
    await assert.rejects(
      client.multipartUpload('resume.bin', data, {
        partSize: KB100,
        parallel: 1,
        progress: (_p: number, cp: Checkpoint | undefined) => {
          if (cp !== undefined && cp.doneParts.length >= 2) {
            saved = structuredClone({ ...cp, file: undefined })
            throw interrupted
          }
        },
      }),
      (err: unknown) => err === interrupted || (err as Error).message === interrupted.message,
    )
    assert.ok(saved !== undefined)
    const listed = await client.listParts('resume.bin', saved.uploadId, {} as never)
    assert.deepEqual(
      listed.parts.map((p) => String(p.PartNumber)),
      ['1', '2'],
    )
    const res = await client.multipartUpload('resume.bin', data, { partSize: KB100, checkpoint: { ...saved, file: data, name: 'resume.bin', fileSize: data.length, partSize: KB100 } })
    assert.equal(res.res.status, 200)
    assert.deepEqual((await client.get('resume.bin')).content, data)
    const uploads = await client.listUploads({})
    assert.deepEqual(uploads.uploads, [])
    // The checkpoint's upload was the one completed.
    await assert.rejects(client.listParts('resume.bin', saved.uploadId, {} as never), (err: { code?: string }) => err.code === 'NoSuchUpload')
  })
})
