/** DeleteMultipleObjects (`POST /?delete`) end to end, through ali-oss and raw XML. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { aliApi } from '../support/ali-views.js'
import { ossClient } from '../support/oss-client.js'
import { assertOssError, xmlFields, xmlText } from '../support/oss-assert.js'
import { signed, xmlField, type RawResponse } from '../support/raw.js'
import { KEY_CTRL, KEY_UTF8, startTestServer, type TestServer } from '../support/server.js'

async function makeBucket(server: TestServer, bucket: string, keys: readonly string[]): Promise<void> {
  assert.equal((await signed(server, 'PUT', bucket, undefined)).status, 200)
  for (const key of keys) assert.equal((await signed(server, 'PUT', bucket, key, { body: 'x' })).status, 200)
}

function md5(body: string): string {
  return createHash('md5').update(body).digest('base64')
}

function deleteXml(keys: readonly string[], quiet = false): string {
  const objects = keys.map((k) => `<Object><Key>${k}</Key></Object>`).join('')
  return `<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>${String(quiet)}</Quiet>${objects}</Delete>`
}

function postDelete(server: TestServer, bucket: string, body: string, headers: Record<string, string> = {}, query = 'delete'): Promise<RawResponse> {
  return signed(server, 'POST', bucket, undefined, {
    query,
    subresources: { delete: '' },
    body,
    headers: { 'content-type': 'application/xml', 'content-md5': md5(body), ...headers },
  })
}

async function listKeys(server: TestServer, bucket: string): Promise<string[]> {
  const res = await signed(server, 'GET', bucket, undefined, { query: 'encoding-type=url' })
  return xmlFields(res.text, 'Key').map((k) => decodeURIComponent(k))
}

void test('DeleteMultipleObjects verbose answers one Deleted per requested key in request order, absent keys included', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'multi', ['b', 'a', 'c', 'keep'])
  const res = await postDelete(server, 'multi', deleteXml(['c', 'missing', 'a', 'b', 'a']))
  assert.equal(res.status, 200, res.text)
  assert.match(res.text, /<DeleteResult>/)
  assert.deepEqual(xmlFields(res.text, 'Deleted').map((d) => xmlField(d, 'Key')), ['c', 'missing', 'a', 'b', 'a'])
  assert.deepEqual(await listKeys(server, 'multi'), ['keep'])
})

void test('DeleteMultipleObjects through ali-oss deleteMulti returns the keys deleted, in order', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'ali-multi', ['x/1', 'x/2', 'y'])
  const client = aliApi(ossClient(server, { bucket: 'ali-multi' }))
  const result = await client.deleteMulti(['y', 'nope', 'x/1'])
  assert.deepEqual(result.deleted.map((d) => d.Key), ['y', 'nope', 'x/1'])
  const quiet = await client.deleteMulti(['x/2'], { quiet: true })
  assert.deepEqual(quiet.deleted, [])
  assert.deepEqual(await listKeys(server, 'ali-multi'), [])
})

void test('DeleteMultipleObjects quiet deletes every key and lists none in the answer', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'quiet', ['a', 'b'])
  const res = await postDelete(server, 'quiet', deleteXml(['a', 'b', 'zz'], true))
  assert.equal(res.status, 200)
  assert.deepEqual(xmlFields(res.text, 'Deleted'), [])
  assert.deepEqual(await listKeys(server, 'quiet'), [])
})

void test('DeleteMultipleObjects parses escaped keys (&amp;, &#39;, &lt;) and raw control characters as ali-oss sends them', async (t) => {
  const server = await startTestServer(t)
  const keys = ["a&b'c", 'x<y>z', 'q"uote', KEY_CTRL, KEY_UTF8]
  await makeBucket(server, 'escape', [...keys, 'keep'])
  const body = deleteXml([
    'a&amp;b&#39;c',
    'x&lt;y&gt;z',
    'q&quot;uote',
    KEY_CTRL.replace(/&/g, '&amp;'),
    KEY_UTF8.replace(/&/g, '&amp;'),
  ])
  const res = await postDelete(server, 'escape', body)
  assert.equal(res.status, 200, res.text)
  assert.deepEqual(xmlFields(res.text, 'Deleted').map((d) => xmlText(xmlField(d, 'Key') ?? '')), keys)
  assert.deepEqual(await listKeys(server, 'escape'), ['keep'])

  // ali-oss escapes with utility.escape and sends control characters raw.
  await makeBucket(server, 'escape-ali', keys)
  const client = aliApi(ossClient(server, { bucket: 'escape-ali' }))
  const result = await client.deleteMulti(keys)
  assert.deepEqual(result.deleted.map((d) => d.Key), keys)
  assert.deepEqual(await listKeys(server, 'escape-ali'), [])
})

void test('DeleteMultipleObjects with encoding-type=url answers percent-encoded keys and EncodingType url', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'enc-del', ['a b', 'c+d'])
  for (const [query, headers] of [['delete&encoding-type=url', {}], ['delete', { 'encoding-type': 'url' }]] as const) {
    const res = await postDelete(server, 'enc-del', deleteXml(['a b', 'c+d']), headers, query)
    assert.equal(res.status, 200)
    assert.equal(xmlField(res.text, 'EncodingType'), 'url')
    assert.deepEqual(xmlFields(res.text, 'Deleted').map((d) => xmlField(d, 'Key')), ['a%20b', 'c%2Bd'])
  }
})

void test('DeleteMultipleObjects answers 400 MalformedXML for more than 1000 keys and deletes nothing', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'too-many', ['k0'])
  const keys = Array.from({ length: 1001 }, (_, i) => `k${i}`)
  assertOssError(await postDelete(server, 'too-many', deleteXml(keys)), 400, 'MalformedXML')
  assert.deepEqual(await listKeys(server, 'too-many'), ['k0'])
  const ok = await postDelete(server, 'too-many', deleteXml(keys.slice(0, 1000), true))
  assert.equal(ok.status, 200)
  assert.deepEqual(await listKeys(server, 'too-many'), [])
})

void test('DeleteMultipleObjects answers 400 InvalidDigest for a wrong or malformed Content-MD5 and deletes nothing', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'digest', ['a'])
  const body = deleteXml(['a'])
  for (const bad of [md5('other'), 'not-base64!', 'AAAA']) {
    assertOssError(await postDelete(server, 'digest', body, { 'content-md5': bad }), 400, 'InvalidDigest')
  }
  assert.deepEqual(await listKeys(server, 'digest'), ['a'])
  const noMd5 = await signed(server, 'POST', 'digest', undefined, { query: 'delete', subresources: { delete: '' }, body })
  assert.equal(noMd5.status, 200, 'Content-MD5 is verified when present, accepted when absent')
})

void test('DeleteMultipleObjects answers 400 UserKeyMustBeSpecified for an empty or missing Key and deletes nothing', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'nokey', ['a'])
  for (const body of [deleteXml(['a', '']), '<Delete><Object><Key>a</Key></Object><Object><VersionId>null</VersionId></Object></Delete>', '<Delete><Object><Key/></Object></Delete>']) {
    const res = await postDelete(server, 'nokey', body)
    assertOssError(res, 400, 'UserKeyMustBeSpecified')
    assert.equal(xmlField(res.text, 'Message'), 'User key must be specified.')
  }
  assert.deepEqual(await listKeys(server, 'nokey'), ['a'])
})

void test('DeleteMultipleObjects answers 400 MalformedXML for broken, foreign or nested documents', async (t) => {
  const server = await startTestServer(t)
  await makeBucket(server, 'badxml', ['a'])
  const bodies = [
    '',
    'garbage',
    '<Delete><Object><Key>a</Key></Object>',
    '<Delete><Object><Key>a</Object></Key></Delete>',
    '<Delete><Object><Key>a & b</Key></Object></Delete>',
    '<Remove><Object><Key>a</Key></Object></Remove>',
    '<Delete><Object><Key><Inner>a</Inner></Key></Object></Delete>',
    '<!DOCTYPE x [<!ENTITY e "a">]><Delete><Object><Key>&e;</Key></Object></Delete>',
    '<Delete><Quiet>true</Quiet><Quiet>false</Quiet></Delete>',
  ]
  for (const body of bodies) assertOssError(await postDelete(server, 'badxml', body), 400, 'MalformedXML')
  assert.deepEqual(await listKeys(server, 'badxml'), ['a'])
})

void test('DeleteMultipleObjects on a missing bucket answers 404 NoSuchBucket', async (t) => {
  const server = await startTestServer(t)
  assertOssError(await postDelete(server, 'ghost-bkt', deleteXml(['a'])), 404, 'NoSuchBucket')
})
