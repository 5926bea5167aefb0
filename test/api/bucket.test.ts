/** Service and bucket operations end to end: ListBuckets, Put/DeleteBucket, BucketInfo, Location, ACL. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { aliApi } from '../support/ali-views.js'
import { ossClient } from '../support/oss-client.js'
import { assertOssError, xmlFields } from '../support/oss-assert.js'
import { raw, signed, xmlField } from '../support/raw.js'
import { startTestServer } from '../support/server.js'

const LIST_BUCKETS_XML = /^<\?xml version="1.0" encoding="UTF-8"\?>\n?<ListAllMyBucketsResult>/

void test('ListBuckets through ali-oss pages by prefix and max-keys with NextMarker and Owner', async (t) => {
  const server = await startTestServer(t)
  const client = aliApi(ossClient(server))
  for (const name of ['lb-c', 'lb-a', 'lb-b', 'other-x']) await client.putBucket(name)

  const all = await client.listBuckets({})
  assert.deepEqual(all.buckets?.map((b) => b.name), ['lb-a', 'lb-b', 'lb-c', 'other-x'])
  assert.equal(all.buckets?.[0]?.region, 'oss-cn-hangzhou')
  assert.equal(all.buckets?.[0]?.storageClass, 'Standard')
  assert.ok(all.owner.id !== '' && all.owner.id === all.owner.displayName)

  const first = await client.listBuckets({ prefix: 'lb-', 'max-keys': 2 })
  assert.deepEqual(first.buckets?.map((b) => b.name), ['lb-a', 'lb-b'])
  assert.equal(first.isTruncated, true)
  assert.equal(first.nextMarker, 'lb-b')
  const second = await client.listBuckets({ prefix: 'lb-', marker: first.nextMarker ?? '', 'max-keys': 2 })
  assert.deepEqual(second.buckets?.map((b) => b.name), ['lb-c'])
  assert.equal(second.isTruncated, false)
  assert.equal(second.nextMarker, null)
})

void test('ListBuckets XML lists buckets sorted with endpoints, marker exclusive, NextMarker only when truncated', async (t) => {
  const server = await startTestServer(t)
  for (const name of ['zz-bucket', 'aa-bucket', 'mm-bucket']) assert.equal((await signed(server, 'PUT', name, undefined)).status, 200)

  const res = await raw(server, { path: '/', sign: {} })
  assert.equal(res.status, 200)
  assert.match(res.text, LIST_BUCKETS_XML)
  assert.deepEqual(xmlFields(res.text, 'Name'), ['aa-bucket', 'mm-bucket', 'zz-bucket'])
  assert.deepEqual([...new Set(xmlFields(res.text, 'ExtranetEndpoint'))], ['oss-cn-hangzhou.aliyuncs.com'])
  assert.deepEqual([...new Set(xmlFields(res.text, 'IntranetEndpoint'))], ['oss-cn-hangzhou-internal.aliyuncs.com'])
  assert.deepEqual([...new Set(xmlFields(res.text, 'Region'))], ['cn-hangzhou'])
  assert.equal(xmlField(res.text, 'NextMarker'), undefined)
  assert.match(xmlField(res.text, 'CreationDate') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

  const after = await raw(server, { path: '/?marker=aa-bucket&max-keys=1', sign: {} })
  assert.deepEqual(xmlFields(after.text, 'Name'), ['mm-bucket'])
  assert.equal(xmlField(after.text, 'IsTruncated'), 'true')
  assert.equal(xmlField(after.text, 'NextMarker'), 'mm-bucket')
  assert.equal(xmlField(after.text, 'MaxKeys'), '1')

  const last = await raw(server, { path: '/?marker=mm-bucket&max-keys=1', sign: {} })
  assert.deepEqual(xmlFields(last.text, 'Name'), ['zz-bucket'])
  assert.equal(xmlField(last.text, 'IsTruncated'), 'false')
  assert.equal(xmlField(last.text, 'NextMarker'), undefined)

  const exact = await raw(server, { path: '/?max-keys=3', sign: {} })
  assert.equal(xmlField(exact.text, 'IsTruncated'), 'false')
  assert.equal(xmlField(exact.text, 'NextMarker'), undefined)
})

void test('ListBuckets answers 400 InvalidArgument for max-keys 1001 and 403 AccessDenied when anonymous', async (t) => {
  const server = await startTestServer(t)
  assertOssError(await raw(server, { path: '/?max-keys=1001', sign: {} }), 400, 'InvalidArgument')
  assertOssError(await raw(server, { path: '/?max-keys=abc', sign: {} }), 400, 'InvalidArgument')
  assertOssError(await raw(server, { path: '/' }), 403, 'AccessDenied')
})

void test('PutBucket sends Location /<bucket> and applies the x-oss-acl header and StorageClass body', async (t) => {
  const server = await startTestServer(t)
  const client = aliApi(ossClient(server))
  const created = await client.putBucket('acl-ia', { acl: 'public-read', storageClass: 'IA' })
  assert.equal(created.bucket, 'acl-ia')

  const info = await client.getBucketInfo('acl-ia')
  assert.equal(info.bucket.AccessControlList.Grant, 'public-read')
  assert.equal(info.bucket.StorageClass, 'IA')

  const res = await signed(server, 'PUT', 'raw-put', undefined, {
    headers: { 'content-type': 'application/xml' },
    body: '<?xml version="1.0" encoding="UTF-8"?><CreateBucketConfiguration><StorageClass>Archive</StorageClass></CreateBucketConfiguration>',
  })
  assert.equal(res.status, 200)
  assert.equal(res.headers.location, '/raw-put')
  assert.equal(res.text, '')
  const listed = await client.listBuckets({ prefix: 'raw-put' })
  assert.equal(listed.buckets?.[0]?.storageClass, 'Archive')
})

void test('PutBucket on an existing bucket answers 200 for the same class and 409 BucketAlreadyExists for another', async (t) => {
  const server = await startTestServer(t)
  assert.equal((await signed(server, 'PUT', 'again', undefined)).status, 200)
  const same = await signed(server, 'PUT', 'again', undefined)
  assert.equal(same.status, 200)
  assert.equal(same.headers.location, '/again')
  const other = await signed(server, 'PUT', 'again', undefined, {
    body: '<CreateBucketConfiguration><StorageClass>IA</StorageClass></CreateBucketConfiguration>',
  })
  assertOssError(other, 409, 'BucketAlreadyExists')
  assert.equal(xmlField(other.text, 'Message'), "Cannot modify existing bucket's storage class.")
})

void test('PutBucket answers 400 InvalidBucketName for names outside 3-63 lowercase letters, digits and hyphens', async (t) => {
  const server = await startTestServer(t)
  for (const name of ['ab', 'Upper-case', '-lead', 'trail-', 'under_score', 'dot.ted', 'x'.repeat(64)]) {
    const res = await signed(server, 'PUT', name, undefined)
    assertOssError(res, 400, 'InvalidBucketName')
  }
  assert.equal((await signed(server, 'PUT', 'x'.repeat(63), undefined)).status, 200)
  assert.equal((await signed(server, 'PUT', 'a-1', undefined)).status, 200)
})

void test('PutBucket answers 400 InvalidArgument for an unknown ACL, storage class or redundancy type', async (t) => {
  const server = await startTestServer(t)
  const acl = await signed(server, 'PUT', 'bad-acl', undefined, { headers: { 'x-oss-acl': 'public' } })
  assertOssError(acl, 400, 'InvalidArgument')
  assert.equal(xmlField(acl.text, 'Message'), 'no such bucket access control exists')
  assert.equal(xmlField(acl.text, 'ArgumentName'), 'x-oss-acl')
  assert.equal(xmlField(acl.text, 'ArgumentValue'), 'public')

  const cls = await signed(server, 'PUT', 'bad-class', undefined, {
    body: '<CreateBucketConfiguration><StorageClass>Glacier</StorageClass></CreateBucketConfiguration>',
  })
  assertOssError(cls, 400, 'InvalidArgument')
  assert.equal(xmlField(cls.text, 'Message'), 'No such bucket storage class exists.')

  const red = await signed(server, 'PUT', 'bad-red', undefined, {
    body: '<CreateBucketConfiguration><DataRedundancyType>XRS</DataRedundancyType></CreateBucketConfiguration>',
  })
  assertOssError(red, 400, 'InvalidArgument')

  const list = await raw(server, { path: '/', sign: {} })
  assert.deepEqual(xmlFields(list.text, 'Name'), [], 'no bucket was created by a refused PutBucket')
})

void test('PutBucket answers 400 MalformedXML for a broken or foreign configuration document', async (t) => {
  const server = await startTestServer(t)
  for (const body of ['<CreateBucketConfiguration><StorageClass>IA</StorageClass>', '<Other/>', 'not xml', '<a>&</a>']) {
    assertOssError(await signed(server, 'PUT', 'xml-bucket', undefined, { body }), 400, 'MalformedXML')
  }
})

void test('DeleteBucket answers 204, then 404 NoSuchBucket for the deleted bucket', async (t) => {
  const server = await startTestServer(t)
  const client = aliApi(ossClient(server))
  await client.putBucket('gone')
  const res = await signed(server, 'DELETE', 'gone', undefined)
  assert.equal(res.status, 204)
  assert.ok(res.headers['x-oss-request-id'])
  const again = await signed(server, 'DELETE', 'gone', undefined)
  assertOssError(again, 404, 'NoSuchBucket')
  assert.equal(xmlField(again.text, 'BucketName'), 'gone')
  assert.equal(xmlField(again.text, 'EC'), '0015-00000101')
  await assert.rejects(client.deleteBucket('gone'), { code: 'NoSuchBucket', status: 404 })
})

void test('DeleteBucket answers 409 BucketNotEmpty while an object or only an unfinished multipart upload remains', async (t) => {
  const server = await startTestServer(t)
  const client = ossClient(server, { bucket: 'full' })
  await aliApi(client).putBucket('full')
  await client.put('obj', Buffer.from('x'))
  const withObject = await signed(server, 'DELETE', 'full', undefined)
  assertOssError(withObject, 409, 'BucketNotEmpty')
  assert.equal(xmlField(withObject.text, 'BucketName'), 'full')
  await client.delete('obj')

  const { uploadId } = await client.initMultipartUpload('big')
  assertOssError(await signed(server, 'DELETE', 'full', undefined), 409, 'BucketNotEmpty')
  await assert.rejects(aliApi(client).deleteBucket('full'), { code: 'BucketNotEmpty', status: 409 })
  await client.abortMultipartUpload('big', uploadId)
  await aliApi(client).deleteBucket('full')
  assertOssError(await signed(server, 'GET', 'full', undefined, { query: 'bucketInfo', subresources: { bucketInfo: '' } }), 404, 'NoSuchBucket')
})

void test('GetBucketInfo through ali-oss reports location, endpoints, ACL, class and owner', async (t) => {
  const server = await startTestServer(t)
  const client = aliApi(ossClient(server))
  await client.putBucket('info-bkt')
  const { bucket } = await client.getBucketInfo('info-bkt')
  assert.equal(bucket.Name, 'info-bkt')
  assert.equal(bucket.Location, 'oss-cn-hangzhou')
  assert.equal(bucket.ExtranetEndpoint, 'oss-cn-hangzhou.aliyuncs.com')
  assert.equal(bucket.IntranetEndpoint, 'oss-cn-hangzhou-internal.aliyuncs.com')
  assert.equal(bucket.AccessControlList.Grant, 'private')
  assert.equal(bucket.StorageClass, 'Standard')
  assert.equal(bucket.DataRedundancyType, 'LRS')
  assert.ok(bucket.Owner.ID !== '' && bucket.Owner.ID === bucket.Owner.DisplayName)
  assert.match(bucket.CreationDate, /^\d{4}-\d\d-\d\dT/)
})

void test('GetBucketInfo, GetBucketLocation and GetBucketAcl answer 404 NoSuchBucket for a missing bucket', async (t) => {
  const server = await startTestServer(t)
  for (const sub of ['bucketInfo', 'location', 'acl']) {
    const res = await signed(server, 'GET', 'nope-bkt', undefined, { query: sub, subresources: { [sub]: '' } })
    assertOssError(res, 404, 'NoSuchBucket')
    assert.equal(xmlField(res.text, 'BucketName'), 'nope-bkt')
  }
})

void test('GetBucketLocation answers a plain LocationConstraint that ali-oss reads as a string', async (t) => {
  const server = await startTestServer(t)
  const client = aliApi(ossClient(server))
  await client.putBucket('where')
  const res = await signed(server, 'GET', 'where', undefined, { query: 'location', subresources: { location: '' } })
  assert.equal(res.status, 200)
  assert.match(String(res.headers['content-type']), /^application\/xml/)
  assert.match(res.text, /<LocationConstraint>oss-cn-hangzhou<\/LocationConstraint>\s*$/)
  assert.doesNotMatch(res.text, /xmlns/)
  const loc = await client.getBucketLocation('where')
  assert.equal(loc.location, 'oss-cn-hangzhou')
})

void test('PutBucketACL changes the ACL that GetBucketACL reports, with Location /<bucket>', async (t) => {
  const server = await startTestServer(t)
  const client = aliApi(ossClient(server))
  await client.putBucket('acl-bkt')
  assert.equal((await client.getBucketACL('acl-bkt')).acl, 'private')
  const put = await client.putBucketACL('acl-bkt', 'public-read-write')
  assert.equal(put.bucket, 'acl-bkt')
  const got = await client.getBucketACL('acl-bkt')
  assert.equal(got.acl, 'public-read-write')
  assert.ok(got.owner.id !== '' && got.owner.id === got.owner.displayName)
})

void test('PutBucketACL creates a missing bucket with the given ACL', async (t) => {
  const server = await startTestServer(t)
  const client = aliApi(ossClient(server))
  const put = await client.putBucketACL('made-by-acl', 'public-read')
  assert.equal(put.bucket, 'made-by-acl')
  assert.equal((await client.getBucketACL('made-by-acl')).acl, 'public-read')
  const listed = await client.listBuckets({})
  assert.deepEqual(listed.buckets?.map((b) => b.name), ['made-by-acl'])
})

void test('PutBucketACL answers 400 InvalidArgument naming x-oss-acl for an unknown ACL and creates nothing', async (t) => {
  const server = await startTestServer(t)
  const res = await signed(server, 'PUT', 'acl-bad', undefined, { query: 'acl', subresources: { acl: '' }, headers: { 'x-oss-acl': 'world' } })
  assertOssError(res, 400, 'InvalidArgument')
  assert.equal(xmlField(res.text, 'ArgumentName'), 'x-oss-acl')
  assertOssError(await signed(server, 'GET', 'acl-bad', undefined, { query: 'acl', subresources: { acl: '' } }), 404, 'NoSuchBucket')
})

void test('Bucket owner operations answer 403 AccessDenied to anonymous callers, even on a public bucket', async (t) => {
  const server = await startTestServer(t)
  const client = aliApi(ossClient(server))
  await client.putBucket('pub', { acl: 'public-read-write' })
  for (const [method, query] of [['GET', 'acl'], ['GET', 'bucketInfo'], ['GET', 'location'], ['PUT', 'acl'], ['DELETE', '']] as const) {
    const res = await raw(server, { method, path: `/pub/${query === '' ? '' : `?${query}`}` })
    assertOssError(res, 403, 'AccessDenied')
  }
  assertOssError(await raw(server, { method: 'PUT', path: '/anon-new/' }), 403, 'AccessDenied')
  const listed = await client.listBuckets({})
  assert.deepEqual(listed.buckets?.map((b) => b.name), ['pub'])
})
