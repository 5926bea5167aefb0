/** Listing end to end: ListObjects v1 and v2, ListObjectVersions, and ali-oss's cleanBucket flow. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { aliApi } from '../support/ali-views.js'
import { ossClient } from '../support/oss-client.js'
import { assertOssError, xmlFields, xmlText } from '../support/oss-assert.js'
import { raw, signed, xmlField, type RawResponse } from '../support/raw.js'
import { startTestServer, type TestServer } from '../support/server.js'

async function makeBucket(server: TestServer, bucket: string, keys: readonly string[]): Promise<void> {
  assert.equal((await signed(server, 'PUT', bucket, undefined)).status, 200)
  for (const key of keys) {
    const res = await signed(server, 'PUT', bucket, key, { body: key })
    assert.equal(res.status, 200, `PUT ${JSON.stringify(key)}: ${res.text}`)
  }
}

/** GET the bucket with these (unsigned) listing parameters, values percent-encoded. */
function listRaw(server: TestServer, bucket: string, params: Record<string, string>, subresources: Record<string, string> = {}): Promise<RawResponse> {
  const all = { ...params, ...subresources }
  const query = Object.entries(all)
    .map(([k, v]) => (v === '' ? k : `${k}=${encodeURIComponent(v)}`))
    .join('&')
  return signed(server, 'GET', bucket, undefined, { query, subresources })
}

/** Contents keys and CommonPrefixes of a listing, decoded as a client would. */
function entries(res: RawResponse): { keys: string[]; prefixes: string[] } {
  const url = xmlField(res.text, 'EncodingType') === 'url'
  const dec = (s: string): string => (url ? decodeURIComponent(s) : xmlText(s))
  const contents = xmlFields(res.text, 'Contents').map((c) => dec(xmlField(c, 'Key') ?? ''))
  const prefixes = xmlFields(res.text, 'CommonPrefixes').map((c) => dec(xmlField(c, 'Prefix') ?? ''))
  return { keys: contents, prefixes }
}

const KEYS = ['a', 'b/1', 'b/2', 'b/c/3', 'c', 'd/4', 'e']

void test('ListObjects through ali-oss returns keys with Owner, Type, StorageClass and CommonPrefixes for a delimiter', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'lst', KEYS)
  const client = aliApi(ossClient(server, { bucket: 'lst' }))

  const all = await client.list(null)
  assert.deepEqual(all.objects?.map((o) => o.name), KEYS)
  const first = all.objects?.[0]
  assert.equal(first?.type, 'Normal')
  assert.equal(first?.storageClass, 'Standard')
  assert.equal(first?.size, 1)
  assert.match(first?.etag ?? '', /^"[0-9A-F]{32}"$/)
  assert.ok(first?.owner?.id !== undefined && first.owner.id !== '')
  assert.equal(all.isTruncated, false)
  assert.equal(all.nextMarker, null)

  const grouped = await client.list({ delimiter: '/' })
  assert.deepEqual(grouped.objects?.map((o) => o.name), ['a', 'c', 'e'])
  assert.deepEqual(grouped.prefixes, ['b/', 'd/'])

  const inB = await client.list({ prefix: 'b/', delimiter: '/' })
  assert.deepEqual(inB.objects?.map((o) => o.name), ['b/1', 'b/2'])
  assert.deepEqual(inB.prefixes, ['b/c/'])
})

void test('ListObjects v1 pages with an exclusive marker and sends NextMarker whenever truncated, even without a delimiter', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'pages', KEYS)
  const p1 = await listRaw(server, 'pages', { 'max-keys': '3' })
  assert.equal(p1.status, 200)
  assert.deepEqual(entries(p1).keys, ['a', 'b/1', 'b/2'])
  assert.equal(xmlField(p1.text, 'IsTruncated'), 'true')
  assert.equal(xmlField(p1.text, 'NextMarker'), 'b/2')
  assert.equal(xmlField(p1.text, 'MaxKeys'), '3')
  assert.equal(xmlField(p1.text, 'Name'), 'pages')

  const p2 = await listRaw(server, 'pages', { 'max-keys': '3', marker: 'b/2' })
  assert.deepEqual(entries(p2).keys, ['b/c/3', 'c', 'd/4'])
  assert.equal(xmlField(p2.text, 'Marker'), 'b/2')
  assert.equal(xmlField(p2.text, 'NextMarker'), 'd/4')

  // Exactly max-keys entries left: not truncated, no NextMarker.
  const p3 = await listRaw(server, 'pages', { 'max-keys': '1', marker: 'd/4' })
  assert.deepEqual(entries(p3).keys, ['e'])
  assert.equal(xmlField(p3.text, 'IsTruncated'), 'false')
  assert.equal(xmlField(p3.text, 'NextMarker'), undefined)

  // A marker that names no key still starts after it.
  const between = await listRaw(server, 'pages', { marker: 'b/19' })
  assert.deepEqual(entries(between).keys, ['b/2', 'b/c/3', 'c', 'd/4', 'e'])

  // With a delimiter, a CommonPrefix may be the NextMarker, and is not repeated on the next page.
  const d1 = await listRaw(server, 'pages', { delimiter: '/', 'max-keys': '2' })
  assert.deepEqual(entries(d1), { keys: ['a'], prefixes: ['b/'] })
  assert.equal(xmlField(d1.text, 'NextMarker'), 'b/')
  const d2 = await listRaw(server, 'pages', { delimiter: '/', 'max-keys': '2', marker: 'b/' })
  assert.deepEqual(entries(d2), { keys: ['c'], prefixes: ['d/'] })
  assert.equal(xmlField(d2.text, 'NextMarker'), 'd/')
  const d3 = await listRaw(server, 'pages', { delimiter: '/', 'max-keys': '2', marker: 'd/' })
  assert.deepEqual(entries(d3), { keys: ['e'], prefixes: [] })
  assert.equal(xmlField(d3.text, 'IsTruncated'), 'false')
})

void test('ListObjects skips a CommonPrefix not after the marker (start-after <p>oss.jpg does not return <p>fun/)', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'skip-prefix', ['p/fun/movie.avi', 'p/fun/test.jpg', 'p/oss.jpg', 'p/zzz'])
  const v1 = await listRaw(server, 'skip-prefix', { prefix: 'p/', delimiter: '/', marker: 'p/fun/movie.avi' })
  assert.deepEqual(entries(v1), { keys: ['p/oss.jpg', 'p/zzz'], prefixes: [] })
  const v2 = await listRaw(server, 'skip-prefix', { 'list-type': '2', prefix: 'p/', delimiter: '/', 'start-after': 'p/oss.jpg' })
  assert.deepEqual(entries(v2), { keys: ['p/zzz'], prefixes: [] })
  assert.equal(xmlField(v2.text, 'StartAfter'), 'p/oss.jpg')
})

void test('ListObjects accepts max-keys 0 to 1000 and answers 400 InvalidArgument for 1001, -1, non-numbers and 1024-byte prefixes', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'limits', ['a', 'b'])
  const zero = await listRaw(server, 'limits', { 'max-keys': '0' })
  assert.equal(zero.status, 200)
  assert.deepEqual(entries(zero).keys, [])
  assert.equal(xmlField(zero.text, 'MaxKeys'), '0')
  const max = await listRaw(server, 'limits', { 'max-keys': '1000' })
  assert.deepEqual(entries(max).keys, ['a', 'b'])
  for (const listType of [{}, { 'list-type': '2' }]) {
    for (const bad of ['1001', '-1', 'ten', '1.5']) {
      const res = await listRaw(server, 'limits', { ...listType, 'max-keys': bad })
      assertOssError(res, 400, 'InvalidArgument')
      assert.equal(xmlField(res.text, 'ArgumentName'), 'max-keys')
    }
    for (const name of ['prefix', 'delimiter', listType['list-type'] === '2' ? 'start-after' : 'marker']) {
      assertOssError(await listRaw(server, 'limits', { ...listType, [name]: 'x'.repeat(1024) }), 400, 'InvalidArgument')
    }
  }
  assert.equal((await listRaw(server, 'limits', { prefix: 'x'.repeat(1023) })).status, 200)
})

void test('ListObjects with encoding-type=url percent-encodes Key, Prefix, Marker, NextMarker and Delimiter', async (t) => {
  const server = await startTestServer(t)
  const keys = ['a b/1', 'a b/2', 'a&b<c>', 'cr\rkey', 'plus+sign', '中文']
  await makeBucket(server, 'enc', keys)
  const res = await listRaw(server, 'enc', { 'encoding-type': 'url', 'max-keys': '1', marker: 'a ', prefix: 'a ' })
  assert.equal(xmlField(res.text, 'EncodingType'), 'url')
  assert.deepEqual(xmlFields(res.text, 'Key'), ['a%20b/1'])
  assert.equal(xmlField(res.text, 'Prefix'), 'a%20')
  assert.equal(xmlField(res.text, 'Marker'), 'a%20')
  assert.equal(xmlField(res.text, 'NextMarker'), 'a%20b/1')

  const all = await listRaw(server, 'enc', { 'encoding-type': 'url', delimiter: ' ' })
  assert.equal(xmlField(all.text, 'Delimiter'), '%20')
  assert.deepEqual(entries(all), { keys: ['a&b<c>', 'cr\rkey', 'plus+sign', '中文'], prefixes: ['a '] })
  assert.ok(all.text.includes('<Key>plus%2Bsign</Key>'))
  assert.ok(all.text.includes('<Key>a%26b%3Cc%3E</Key>'))
  assert.ok(all.text.includes('<Key>cr%0Dkey</Key>'))

  // Without url encoding: XML-escaped, CR kept as a character reference.
  const plain = await listRaw(server, 'enc', {})
  assert.equal(plain.status, 200)
  assert.ok(plain.text.includes('<Key>a&amp;b&lt;c&gt;</Key>'), plain.text)
  assert.ok(plain.text.includes('<Key>cr&#13;key</Key>'), plain.text)
  assert.deepEqual(entries(plain).keys, [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
})

void test('ListObjectsV2 through ali-oss pages by continuation token, counts CommonPrefixes in KeyCount and omits Owner unless fetch-owner', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'v2-ali', KEYS)
  const client = aliApi(ossClient(server, { bucket: 'v2-ali' }))

  const p1 = await client.listV2({ 'max-keys': 3 })
  assert.deepEqual(p1.objects?.map((o) => o.name), ['a', 'b/1', 'b/2'])
  assert.equal(p1.isTruncated, true)
  assert.equal(p1.keyCount, 3)
  assert.equal(p1.objects?.[0]?.owner, null)
  assert.ok(typeof p1.nextContinuationToken === 'string' && p1.nextContinuationToken !== '')
  const p2 = await client.listV2({ 'max-keys': 3, 'continuation-token': p1.nextContinuationToken })
  assert.deepEqual(p2.objects?.map((o) => o.name), ['b/c/3', 'c', 'd/4'])
  const p3 = await client.listV2({ 'max-keys': 3, 'continuation-token': p2.nextContinuationToken ?? '' })
  assert.deepEqual(p3.objects?.map((o) => o.name), ['e'])
  assert.equal(p3.isTruncated, false)
  assert.equal(p3.nextContinuationToken, null)

  const owned = await client.listV2({ 'fetch-owner': true, prefix: 'b/' })
  assert.ok(owned.objects?.every((o) => o.owner !== null && o.owner.id !== ''))

  const grouped = await client.listV2({ delimiter: '/' })
  assert.deepEqual(grouped.prefixes, ['b/', 'd/'])
  assert.equal(grouped.keyCount, 5)

  const after = await client.listV2({ 'start-after': 'c' })
  assert.deepEqual(after.objects?.map((o) => o.name), ['d/4', 'e'])
})

void test('ListObjectsV2 XML echoes ContinuationToken, prefers it over start-after and rejects a forged token', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'v2raw', KEYS)
  const p1 = await listRaw(server, 'v2raw', { 'list-type': '2', 'max-keys': '2' })
  assert.equal(xmlField(p1.text, 'KeyCount'), '2')
  assert.equal(xmlField(p1.text, 'Owner'), undefined)
  assert.equal(xmlField(p1.text, 'NextMarker'), undefined)
  const token = xmlField(p1.text, 'NextContinuationToken') ?? ''
  assert.notEqual(token, '')
  const p2 = await listRaw(server, 'v2raw', { 'list-type': '2', 'max-keys': '2', 'start-after': 'c' }, { 'continuation-token': token })
  assert.equal(p2.status, 200, p2.text)
  assert.equal(xmlField(p2.text, 'ContinuationToken'), token)
  assert.deepEqual(entries(p2).keys, ['b/2', 'b/c/3'])

  const bad = await listRaw(server, 'v2raw', { 'list-type': '2' }, { 'continuation-token': '!!not-a-token!!' })
  assertOssError(bad, 400, 'InvalidArgument')
})

void test('Listing a missing bucket answers 404 NoSuchBucket; anonymous listing needs a public-read bucket', async (t) => {
  const server = await startTestServer(t)
  for (const query of ['', 'list-type=2', 'versions']) {
    const res = await signed(server, 'GET', 'no-such', undefined, { query, subresources: query === 'versions' ? { versions: '' } : {} })
    assertOssError(res, 404, 'NoSuchBucket')
  }
  await makeBucket(server, 'priv', ['k'])
  assertOssError(await raw(server, { path: '/priv/' }), 403, 'AccessDenied')
  assertOssError(await raw(server, { path: '/priv/?list-type=2' }), 403, 'AccessDenied')
  const client = aliApi(ossClient(server))
  await client.putBucketACL('priv', 'public-read')
  const anon = await raw(server, { path: '/priv/?list-type=2' })
  assert.equal(anon.status, 200)
  assert.deepEqual(entries(anon).keys, ['k'])
})

void test('ListObjectVersions answers a ListVersionsResult with VersionId null, read by ali-oss getBucketVersions', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'vers', ['x/1', 'x/2', 'y'])
  const res = await signed(server, 'GET', 'vers', undefined, { query: 'versions&max-keys=2', subresources: { versions: '' } })
  assert.equal(res.status, 200)
  assert.match(res.text, /<ListVersionsResult>/)
  assert.deepEqual(xmlFields(res.text, 'VersionId'), ['null', 'null'])
  assert.deepEqual(xmlFields(res.text, 'Key'), ['x/1', 'x/2'])
  assert.equal(xmlField(res.text, 'IsTruncated'), 'true')
  assert.equal(xmlField(res.text, 'NextKeyMarker'), 'x/2')

  const client = aliApi(ossClient(server, { bucket: 'vers' }))
  const listed = await client.getBucketVersions({})
  assert.deepEqual(listed.objects.map((o) => [o.name, o.versionId]), [['x/1', 'null'], ['x/2', 'null'], ['y', 'null']])
  assert.deepEqual(listed.deleteMarker, [])
})

void test('DeleteObject with versionId=null deletes the object and answers 204', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'vnull', ['k'])
  const res = await signed(server, 'DELETE', 'vnull', 'k', { query: 'versionId=null', subresources: { versionId: 'null' } })
  assert.equal(res.status, 204, res.text)
  assert.deepEqual(entries(await listRaw(server, 'vnull', {})).keys, [])
})

void test("ali-oss cleanBucket flow (GET ?versions, deleteMulti versions, abort uploads, delete bucket) empties and removes a bucket", async (t) => {
  const server = await startTestServer(t)
  const keys = ['a', 'dir/b', 'dir/c d', 'e&f']
  await makeBucket(server, 'clean-me', keys)
  const oss = ossClient(server, { bucket: 'clean-me' })
  const { uploadId } = await oss.initMultipartUpload('pending')
  assert.ok(uploadId)
  const client = aliApi(oss)

  // As ali-oss test/node/utils.js cleanBucket does when ?versions answers 200.
  const versions = await client.getBucketVersions({ 'max-keys': 1000 })
  assert.equal(versions.objects.length, keys.length)
  await client.deleteMulti(versions.objects.map((v) => ({ key: v.name, versionId: v.versionId })))
  const uploads = await client.listUploads({ 'max-uploads': 1000 })
  assert.deepEqual(uploads.uploads.map((u) => u.name), ['pending'])
  for (const u of uploads.uploads) await client.abortMultipartUpload(u.name, u.uploadId)
  await client.deleteBucket('clean-me')
  const listed = await client.listBuckets({})
  assert.equal(listed.buckets, null)
})

// ── property: paging through a listing equals a sorted model ──

const ALPHABET = ['a', 'b', '/', '-', '\uff61', '\u{1F600}']
const keyArb = fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: 1, maxLength: 5 }).filter((k) => !k.startsWith('/'))

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** Every entry a full listing yields, in byte order: keys and CommonPrefixes, per oss-api.md §6. */
function model(keys: readonly string[], prefix: string, delimiter: string): string[] {
  const out: string[] = []
  for (const key of [...keys].sort(byteCompare)) {
    if (!key.startsWith(prefix)) continue
    const rest = key.slice(prefix.length)
    const cut = delimiter === '' ? -1 : rest.indexOf(delimiter)
    const entry = cut === -1 ? key : prefix + rest.slice(0, cut + delimiter.length)
    if (out[out.length - 1] !== entry) out.push(entry)
  }
  return out
}

void test('ListObjects v1 and v2 paged to the end yield exactly the model listing, truncated exactly when more remains', { timeout: 240_000 }, async (t) => {
  const server = await startTestServer(t)
  let n = 0
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(keyArb, { maxLength: 12 }),
      fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 2 }),
      fc.constantFrom('', '/', '-', '\u{1F600}'),
      fc.integer({ min: 1, max: 4 }),
      fc.boolean(),
      async (keys, prefix, delimiter, maxKeys, v2) => {
        const bucket = `prop-${n++}`
        await makeBucket(server, bucket, keys)
        const expected = model(keys, prefix, delimiter)
        const got: string[] = []
        let pages = 0
        let cursor: string | undefined
        for (;;) {
          const params: Record<string, string> = { prefix, delimiter, 'max-keys': String(maxKeys), 'encoding-type': 'url' }
          const sub: Record<string, string> = {}
          if (v2) params['list-type'] = '2'
          if (cursor !== undefined) {
            if (v2) sub['continuation-token'] = cursor
            else params.marker = cursor
          }
          const res = await listRaw(server, bucket, params, sub)
          assert.equal(res.status, 200, res.text)
          pages++
          const { keys: ks, prefixes } = entries(res)
          const page = [...ks, ...prefixes].sort(byteCompare)
          assert.ok(page.length <= maxKeys)
          if (v2) assert.equal(xmlField(res.text, 'KeyCount'), String(page.length))
          got.push(...page)
          if (xmlField(res.text, 'IsTruncated') !== 'true') {
            assert.equal(xmlField(res.text, v2 ? 'NextContinuationToken' : 'NextMarker'), undefined)
            break
          }
          const next = xmlField(res.text, v2 ? 'NextContinuationToken' : 'NextMarker')
          assert.ok(next !== undefined && next !== '')
          if (!v2) assert.equal(decodeURIComponent(next), page[page.length - 1])
          cursor = v2 ? next : decodeURIComponent(next)
          assert.ok(pages <= expected.length, 'more pages than entries')
        }
        assert.deepEqual(got, expected)
        assert.equal(pages, Math.max(1, Math.ceil(expected.length / maxKeys)), 'truncated exactly when entries remain')
      },
    ),
    { numRuns: 40 },
  )
})
