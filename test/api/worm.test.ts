/**
 * Bucket retention (WORM) end to end (worm.md): the five operations through ali-oss and raw XML,
 * every error they answer, and FileImmutable enforcement while a policy is InProgress and Locked.
 * Lapsing and expiring need a clock: worm-clock.test.ts.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { aliApi } from '../support/ali-views.js'
import { call, md5Base64 } from '../support/object-http.js'
import { ossClient } from '../support/oss-client.js'
import { assertOssError, xmlFields } from '../support/oss-assert.js'
import { xmlField, type RawResponse } from '../support/raw.js'
import { startTestServer, type TestServer } from '../support/server.js'
import {
  abortWorm,
  aliWorm,
  assertImmutable,
  assertNoWorm,
  completeWorm,
  extendWorm,
  getWorm,
  initiateBody,
  initiateWorm,
  lockWorm,
  startWorm,
  wormState,
} from '../support/worm.js'

const UNKNOWN_ID = '0123456789ABCDEF0123456789ABCDEF'
const WORM_ID_UNKNOWN_MESSAGE = 'The specified WORM ID does not exist.'

async function serverWithBuckets(t: { after(fn: () => Promise<void> | void): void }, ...buckets: string[]): Promise<TestServer> {
  const server = await startTestServer(t)
  for (const b of buckets) assert.equal((await call(server, 'PUT', b, undefined)).status, 200)
  return server
}

/** The error an ali-oss call rejects with. */
async function rejection(p: Promise<unknown>): Promise<{ code: string; status: number; message: string }> {
  try {
    await p
  } catch (err) {
    return err as { code: string; status: number; message: string }
  }
  throw new assert.AssertionError({ message: 'expected the call to fail' })
}

// ── Operations ───────────────────────────────────────────────────────────────────────────────

void test('InitiateBucketWorm through ali-oss answers 200 with a 32-hex x-oss-worm-id and GetBucketWorm shows it InProgress', async (t) => {
  const server = await serverWithBuckets(t, 'w-ali')
  const worm = aliWorm(ossClient(server))
  const before = Date.now()
  const started = await worm.initiateBucketWorm('w-ali', '30')
  assert.equal(started.status, 200)
  assert.match(started.wormId, /^[0-9A-F]{32}$/)

  const got = await worm.getBucketWorm('w-ali')
  assert.equal(got.wormId, started.wormId)
  assert.equal(got.state, 'InProgress')
  assert.equal(got.days, '30')
  assert.match(got.creationDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/)
  const created = Date.parse(got.creationDate)
  assert.ok(created >= Math.floor(before / 1000) * 1000 - 1000 && created <= Date.now(), got.creationDate)
})

void test('InitiateBucketWorm answers 200 with an empty body; GetBucketWorm answers a WormConfiguration without ExpirationDate', async (t) => {
  const server = await serverWithBuckets(t, 'w-raw')
  const res = await initiateWorm(server, 'w-raw', initiateBody(7))
  assert.equal(res.status, 200)
  assert.equal(res.body.length, 0)
  const id = res.headers['x-oss-worm-id'] as string

  const got = await getWorm(server, 'w-raw')
  assert.equal(got.status, 200)
  assert.match(String(got.headers['content-type']), /^application\/xml/)
  assert.match(got.text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n?<WormConfiguration>/)
  assert.equal(xmlField(got.text, 'WormId'), id)
  assert.equal(xmlField(got.text, 'State'), 'InProgress')
  assert.equal(xmlField(got.text, 'RetentionPeriodInDays'), '7')
  assert.match(xmlField(got.text, 'CreationDate') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/)
  assert.equal(xmlField(got.text, 'ExpirationDate'), undefined)
  assert.doesNotMatch(got.text, /xmlns/)
})

for (const { style, v4 } of [
  { style: 'ip', v4: false },
  { style: 'ip', v4: true },
  { style: 'vhost', v4: false },
  { style: 'vhost', v4: true },
] as const) {
  void test(`ali-oss (${style}, ${v4 ? 'V4' : 'V1'}) initiates, completes, extends and aborts policies with the statuses its callers expect`, async (t) => {
    const server = await serverWithBuckets(t, 'w-life', 'w-abort')
    const worm = aliWorm(ossClient(server, { style, v4 }))
    const { wormId } = await worm.initiateBucketWorm('w-life', '1')
    assert.equal((await worm.completeBucketWorm('w-life', wormId)).status, 200)
    assert.equal((await worm.extendBucketWorm('w-life', wormId, '5')).status, 200)
    const got = await worm.getBucketWorm('w-life')
    assert.deepEqual([got.wormId, got.state, got.days], [wormId, 'Locked', '5'])

    await worm.initiateBucketWorm('w-abort', 2)
    assert.equal((await worm.abortBucketWorm('w-abort')).status, 204)
    const err = await rejection(worm.getBucketWorm('w-abort'))
    assert.deepEqual([err.status, err.code], [404, 'NoSuchWORMConfiguration'])
  })
}

void test('InitiateBucketWorm answers 409 WORMConfigurationAlreadyExists while a policy is InProgress or Locked, keeping the policy', async (t) => {
  const server = await serverWithBuckets(t, 'w-dup')
  const id = await startWorm(server, 'w-dup', 3)
  const again = await initiateWorm(server, 'w-dup', initiateBody(4))
  assertOssError(again, 409, 'WORMConfigurationAlreadyExists')
  assert.equal(xmlField(again.text, 'Message'), 'The WORM Configuration already exists.')
  assert.equal(again.headers['x-oss-worm-id'], undefined)

  assert.equal((await completeWorm(server, 'w-dup', id)).status, 200)
  assertOssError(await initiateWorm(server, 'w-dup', initiateBody(4)), 409, 'WORMConfigurationAlreadyExists')
  assert.deepEqual(await wormState(server, 'w-dup').then((s) => [s.id, s.state, s.days]), [id, 'Locked', '3'])

  const ali = await rejection(aliWorm(ossClient(server)).initiateBucketWorm('w-dup', '4'))
  assert.deepEqual([ali.status, ali.code], [409, 'WORMConfigurationAlreadyExists'])
})

void test('InitiateBucketWorm answers 400 InvalidWORMConfiguration for a missing, non-integer or out-of-range period and creates nothing', async (t) => {
  const server = await serverWithBuckets(t, 'w-bad')
  const bodies = [
    '<InitiateWormConfiguration></InitiateWormConfiguration>',
    '<InitiateWormConfiguration/>',
    '<InitiateWormConfiguration><Other>5</Other></InitiateWormConfiguration>',
    ...['', 'abc', '1.5', '-1', '+1', '1e3', '0x10', '0', '25551', '99999999999999999999'].map((d) => initiateBody(d)),
  ]
  for (const body of bodies) {
    const res = await initiateWorm(server, 'w-bad', body)
    assertOssError(res, 400, 'InvalidWORMConfiguration')
    assert.equal(xmlField(res.text, 'Message'), 'Invalid WORM Configuration.', body)
  }
  assertNoWorm(await getWorm(server, 'w-bad'))
})

void test('InitiateBucketWorm accepts 1 and 25,550 days, the ends of the range', async (t) => {
  const server = await serverWithBuckets(t, 'w-min', 'w-max')
  await startWorm(server, 'w-min', 1)
  await startWorm(server, 'w-max', 25550)
  assert.equal((await wormState(server, 'w-min')).days, '1')
  assert.equal((await wormState(server, 'w-max')).days, '25550')
})

void test('InitiateBucketWorm answers 400 MalformedXML for a body that is not well-formed XML', async (t) => {
  const server = await serverWithBuckets(t, 'w-malformed')
  const bodies = [
    '',
    'not xml',
    '<InitiateWormConfiguration><RetentionPeriodInDays>1</RetentionPeriodInDays>',
    '<InitiateWormConfiguration><RetentionPeriodInDays>1</InitiateWormConfiguration></RetentionPeriodInDays>',
    '<InitiateWormConfiguration><RetentionPeriodInDays>1&</RetentionPeriodInDays></InitiateWormConfiguration>',
  ]
  for (const body of bodies) assertOssError(await initiateWorm(server, 'w-malformed', body), 400, 'MalformedXML')
  assertNoWorm(await getWorm(server, 'w-malformed'))
})

void test('InitiateBucketWorm accepts any Content-Type, or none, and a body with or without an XML declaration', async (t) => {
  const server = await serverWithBuckets(t, 'w-ctype')
  const cases: Array<{ headers: Record<string, string>; declaration: boolean }> = [
    { headers: { 'content-type': 'text/xml; charset=utf-8' }, declaration: false },
    { headers: { 'content-type': 'application/octet-stream' }, declaration: true },
    { headers: { 'content-type': 'text/plain' }, declaration: false },
    { headers: {}, declaration: false },
    { headers: {}, declaration: true },
  ]
  for (const { headers, declaration } of cases) {
    const res = await call(server, 'POST', 'w-ctype', undefined, { query: { worm: '' }, body: initiateBody(2, declaration), headers })
    assert.equal(res.status, 200, `${JSON.stringify(headers)}: ${res.text}`)
    assert.equal((await abortWorm(server, 'w-ctype')).status, 204)
  }
  const id = await startWorm(server, 'w-ctype', 3)
  const extend = await call(server, 'POST', 'w-ctype', undefined, { query: { wormExtend: '', wormId: id }, body: '<ExtendWormConfiguration><RetentionPeriodInDays>4</RetentionPeriodInDays></ExtendWormConfiguration>', headers: { 'content-type': 'text/xml; charset=utf-8' } })
  assertOssError(extend, 400, 'InvalidWORMConfiguration')
  assert.equal((await completeWorm(server, 'w-ctype', id)).status, 200)
  const extended = await call(server, 'POST', 'w-ctype', undefined, { query: { wormExtend: '', wormId: id }, body: '<ExtendWormConfiguration><RetentionPeriodInDays>4</RetentionPeriodInDays></ExtendWormConfiguration>', headers: { 'content-type': 'text/xml; charset=utf-8' } })
  assert.equal(extended.status, 200, extended.text)
  assert.equal((await wormState(server, 'w-ctype')).days, '4')
})

void test('WORM operations on a missing bucket answer 404 NoSuchBucket', async (t) => {
  const server = await startTestServer(t)
  assertOssError(await initiateWorm(server, 'w-none', initiateBody(1)), 404, 'NoSuchBucket')
  assertOssError(await getWorm(server, 'w-none'), 404, 'NoSuchBucket')
  assertOssError(await abortWorm(server, 'w-none'), 404, 'NoSuchBucket')
  assertOssError(await completeWorm(server, 'w-none', UNKNOWN_ID), 404, 'NoSuchBucket')
  assertOssError(await extendWorm(server, 'w-none', UNKNOWN_ID, 2), 404, 'NoSuchBucket')
})

void test('WORM operations answer 403 AccessDenied to anonymous callers, even on a public-read-write bucket', async (t) => {
  const server = await serverWithBuckets(t)
  assert.equal((await call(server, 'PUT', 'w-public', undefined, { headers: { 'x-oss-acl': 'public-read-write' } })).status, 200)
  const id = await startWorm(server, 'w-public', 2)
  const anonymous = { anonymous: true } as const
  assertOssError(await call(server, 'GET', 'w-public', undefined, { query: { worm: '' }, ...anonymous }), 403, 'AccessDenied')
  assertOssError(await call(server, 'DELETE', 'w-public', undefined, { query: { worm: '' }, ...anonymous }), 403, 'AccessDenied')
  assertOssError(await call(server, 'POST', 'w-public', undefined, { query: { wormId: id }, ...anonymous }), 403, 'AccessDenied')
  assertOssError(await call(server, 'POST', 'w-public', undefined, { query: { worm: '' }, body: initiateBody(1), ...anonymous }), 403, 'AccessDenied')
  assert.equal((await wormState(server, 'w-public')).state, 'InProgress')
})

void test('AbortBucketWorm answers 204 on an InProgress policy; GetBucketWorm is then 404 and a new Initiate gets a new ID', async (t) => {
  const server = await serverWithBuckets(t, 'w-ab')
  const first = await startWorm(server, 'w-ab', 5)
  const res = await abortWorm(server, 'w-ab')
  assert.equal(res.status, 204)
  assert.equal(res.body.length, 0)
  assertNoWorm(await getWorm(server, 'w-ab'))
  const second = await startWorm(server, 'w-ab', 6)
  assert.notEqual(second, first)
  assert.deepEqual(await wormState(server, 'w-ab').then((s) => [s.id, s.state, s.days]), [second, 'InProgress', '6'])
})

void test('AbortBucketWorm answers 403 WORMConfigurationLocked after Complete and the policy stays', async (t) => {
  const server = await serverWithBuckets(t, 'w-ablock')
  const id = await lockWorm(server, 'w-ablock', 5)
  const res = await abortWorm(server, 'w-ablock')
  assertOssError(res, 403, 'WORMConfigurationLocked')
  assert.equal(xmlField(res.text, 'Message'), 'The WORM Configuration is locked.')
  assert.deepEqual(await wormState(server, 'w-ablock').then((s) => [s.id, s.state]), [id, 'Locked'])
})

void test('AbortBucketWorm answers 404 NoSuchWORMConfiguration when the bucket has no policy', async (t) => {
  const server = await serverWithBuckets(t, 'w-abnone')
  assertNoWorm(await abortWorm(server, 'w-abnone'))
  await startWorm(server, 'w-abnone', 1)
  assert.equal((await abortWorm(server, 'w-abnone')).status, 204)
  assertNoWorm(await abortWorm(server, 'w-abnone'))
})

void test('CompleteBucketWorm answers 200 with an empty body and the policy becomes Locked, keeping its ID, period and date', async (t) => {
  const server = await serverWithBuckets(t, 'w-comp')
  const id = await startWorm(server, 'w-comp', 9)
  const before = await wormState(server, 'w-comp')
  const res = await completeWorm(server, 'w-comp', id)
  assert.equal(res.status, 200)
  assert.equal(res.body.length, 0)
  assert.deepEqual(await wormState(server, 'w-comp'), { ...before, state: 'Locked' })
})

void test('CompleteBucketWorm with an unknown ID answers 404 "The specified WORM ID does not exist." and changes nothing', async (t) => {
  const server = await serverWithBuckets(t, 'w-compid')
  const id = await startWorm(server, 'w-compid', 2)
  for (const wrong of [UNKNOWN_ID, id.toLowerCase(), '', 'x']) assertNoWorm(await completeWorm(server, 'w-compid', wrong), WORM_ID_UNKNOWN_MESSAGE)
  assert.equal((await wormState(server, 'w-compid')).state, 'InProgress')
  assert.equal((await completeWorm(server, 'w-compid', id)).status, 200)
  assertNoWorm(await completeWorm(server, 'w-compid', UNKNOWN_ID), WORM_ID_UNKNOWN_MESSAGE)
})

void test('CompleteBucketWorm answers 404 "The WORM Configuration does not exist." when the bucket has no policy', async (t) => {
  const server = await serverWithBuckets(t, 'w-compnone')
  assertNoWorm(await completeWorm(server, 'w-compnone', UNKNOWN_ID))
})

void test('CompleteBucketWorm on an already Locked policy with its own ID answers 200 and changes nothing', async (t) => {
  const server = await serverWithBuckets(t, 'w-comp2')
  const id = await lockWorm(server, 'w-comp2', 4)
  assert.equal((await extendWorm(server, 'w-comp2', id, 8)).status, 200)
  const before = await wormState(server, 'w-comp2')
  assert.equal((await completeWorm(server, 'w-comp2', id)).status, 200)
  assert.deepEqual(await wormState(server, 'w-comp2'), before)
  assert.deepEqual([before.state, before.days], ['Locked', '8'])
})

void test('ExtendBucketWorm answers 400 InvalidWORMConfiguration while the policy is InProgress and leaves its period', async (t) => {
  const server = await serverWithBuckets(t, 'w-extip')
  const id = await startWorm(server, 'w-extip', 3)
  const res = await extendWorm(server, 'w-extip', id, 10)
  assertOssError(res, 400, 'InvalidWORMConfiguration')
  assert.equal(xmlField(res.text, 'Message'), 'Invalid WORM Configuration.')
  assert.deepEqual(await wormState(server, 'w-extip').then((s) => [s.state, s.days]), ['InProgress', '3'])
})

void test('ExtendBucketWorm on a Locked policy refuses a shorter period with 400, is a no-op for an equal one and lengthens with a longer one', async (t) => {
  const server = await serverWithBuckets(t, 'w-ext')
  const id = await lockWorm(server, 'w-ext', 10)
  const before = await wormState(server, 'w-ext')

  assertOssError(await extendWorm(server, 'w-ext', id, 9), 400, 'InvalidWORMConfiguration')
  assert.deepEqual(await wormState(server, 'w-ext'), before)

  const equal = await extendWorm(server, 'w-ext', id, 10)
  assert.equal(equal.status, 200)
  assert.equal(equal.body.length, 0)
  assert.deepEqual(await wormState(server, 'w-ext'), before)

  assert.equal((await extendWorm(server, 'w-ext', id, 25550)).status, 200)
  assert.deepEqual(await wormState(server, 'w-ext'), { ...before, days: '25550' })
  assertOssError(await extendWorm(server, 'w-ext', id, 25551), 400, 'InvalidWORMConfiguration')
  assertOssError(await extendWorm(server, 'w-ext', id, 10), 400, 'InvalidWORMConfiguration')
  assert.equal((await wormState(server, 'w-ext')).days, '25550')
})

void test('ExtendBucketWorm answers 400 InvalidWORMConfiguration for a bad period and 400 MalformedXML for broken XML', async (t) => {
  const server = await serverWithBuckets(t, 'w-extbad')
  const id = await lockWorm(server, 'w-extbad', 2)
  for (const days of ['', 'abc', '2.5', '0', '-3']) assertOssError(await extendWorm(server, 'w-extbad', id, days), 400, 'InvalidWORMConfiguration')
  const broken = await call(server, 'POST', 'w-extbad', undefined, { query: { wormExtend: '', wormId: id }, body: '<ExtendWormConfiguration><RetentionPeriodInDays>5' })
  assertOssError(broken, 400, 'MalformedXML')
  assert.equal((await wormState(server, 'w-extbad')).days, '2')
})

void test('ExtendBucketWorm with an unknown ID answers 404 "The specified WORM ID does not exist."; with no policy, "The WORM Configuration does not exist."', async (t) => {
  const server = await serverWithBuckets(t, 'w-extid', 'w-extnone')
  const id = await lockWorm(server, 'w-extid', 2)
  assertNoWorm(await extendWorm(server, 'w-extid', UNKNOWN_ID, 5), WORM_ID_UNKNOWN_MESSAGE)
  assert.equal((await wormState(server, 'w-extid')).days, '2')
  assert.equal((await extendWorm(server, 'w-extid', id, 5)).status, 200)
  assertNoWorm(await extendWorm(server, 'w-extnone', UNKNOWN_ID, 5))
})

void test('GetBucketWorm answers 404 NoSuchWORMConfiguration for a bucket that never had a policy, also through ali-oss', async (t) => {
  const server = await serverWithBuckets(t, 'w-getnone')
  assertNoWorm(await getWorm(server, 'w-getnone'))
  const err = await rejection(aliWorm(ossClient(server)).getBucketWorm('w-getnone'))
  assert.deepEqual([err.status, err.code], [404, 'NoSuchWORMConfiguration'])
})

// ── Enforcement ──────────────────────────────────────────────────────────────────────────────

const B = 'w-guard'

function deleteBody(keys: readonly string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>false</Quiet>${keys.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`
}

function deleteMultiple(server: TestServer, keys: readonly string[]): Promise<RawResponse> {
  const body = deleteBody(keys)
  return call(server, 'POST', B, undefined, { query: { delete: '' }, body, headers: { 'content-type': 'application/xml', 'content-md5': md5Base64(body) } })
}

async function text(server: TestServer, key: string): Promise<string> {
  const res = await call(server, 'GET', B, key)
  assert.equal(res.status, 200, `GET ${key}: ${res.text}`)
  return res.text
}

for (const state of ['InProgress', 'Locked'] as const) {
  void describe(`a ${state} retention policy`, () => {
    /**
     * A bucket with `old` and the appendable `log` written before the policy, then the policy, then
     * `after` written under it.
     */
    async function guarded(t: { after(fn: () => Promise<void> | void): void }): Promise<TestServer> {
      const server = await serverWithBuckets(t, B)
      assert.equal((await call(server, 'PUT', B, 'old', { body: 'old bytes' })).status, 200)
      assert.equal((await call(server, 'POST', B, 'log', { query: { append: '', position: '0' }, body: 'abc' })).status, 200)
      if (state === 'Locked') await lockWorm(server, B, 30)
      else await startWorm(server, B, 30)
      assert.equal((await call(server, 'PUT', B, 'after', { body: 'after bytes' })).status, 200)
      assert.equal((await wormState(server, B)).state, state)
      return server
    }

    void test('PutObject over a protected key answers 409 FileImmutable, for objects written before and after the policy', async (t) => {
      const server = await guarded(t)
      assertImmutable(await call(server, 'PUT', B, 'old', { body: 'new' }))
      assertImmutable(await call(server, 'PUT', B, 'after', { body: 'new' }))
      assertImmutable(await call(server, 'PUT', B, 'log', { body: 'new' }))
      const ali = await rejection(ossClient(server, { bucket: B }).put('old', Buffer.from('new')))
      assert.deepEqual([ali.status, ali.code, ali.message], [409, 'FileImmutable', 'The object you specified is immutable.'])
      assert.equal(await text(server, 'old'), 'old bytes')
      assert.equal(await text(server, 'after'), 'after bytes')
    })

    void test('PutObject, AppendObject and multipart uploads to new keys still succeed', async (t) => {
      const server = await guarded(t)
      assert.equal((await call(server, 'PUT', B, 'fresh', { body: 'fresh' })).status, 200)
      assert.equal((await call(server, 'POST', B, 'fresh-log', { query: { append: '', position: '0' }, body: 'x' })).status, 200)
      const client = ossClient(server, { bucket: B })
      await client.put('fresh-ali', Buffer.from('ali'))
      const init = await call(server, 'POST', B, 'fresh-mp', { query: { uploads: '' } })
      const uploadId = xmlField(init.text, 'UploadId') ?? ''
      const part = await call(server, 'PUT', B, 'fresh-mp', { query: { partNumber: '1', uploadId }, body: 'part' })
      const body = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${String(part.headers.etag)}</ETag></Part></CompleteMultipartUpload>`
      assert.equal((await call(server, 'POST', B, 'fresh-mp', { query: { uploadId }, body })).status, 200)
      assert.deepEqual(
        await Promise.all(['fresh', 'fresh-log', 'fresh-ali', 'fresh-mp'].map((k) => text(server, k))),
        ['fresh', 'x', 'ali', 'part'],
      )
    })

    void test('CopyObject onto a protected key answers 409 FileImmutable, onto itself too; copying from it to a new key works', async (t) => {
      const server = await guarded(t)
      assertImmutable(await call(server, 'PUT', B, 'old', { headers: { 'x-oss-copy-source': `/${B}/after` } }))
      assertImmutable(await call(server, 'PUT', B, 'old', { headers: { 'x-oss-copy-source': `/${B}/old`, 'x-oss-metadata-directive': 'REPLACE', 'x-oss-meta-m': '1' } }))
      assertImmutable(await call(server, 'PUT', B, 'old', { headers: { 'x-oss-copy-source': `/${B}/old` } }))
      const ali = await rejection(ossClient(server, { bucket: B }).copy('after', 'old'))
      assert.deepEqual([ali.status, ali.code], [409, 'FileImmutable'])
      const head = await call(server, 'HEAD', B, 'old')
      assert.equal(head.headers['x-oss-meta-m'], undefined)
      assert.equal(await text(server, 'after'), 'after bytes')

      assert.equal((await call(server, 'PUT', B, 'copy-of-old', { headers: { 'x-oss-copy-source': `/${B}/old` } })).status, 200)
      assert.equal(await text(server, 'copy-of-old'), 'old bytes')
    })

    void test('AppendObject to a protected Appendable object answers 409 FileImmutable and adds nothing', async (t) => {
      const server = await guarded(t)
      assertImmutable(await call(server, 'POST', B, 'log', { query: { append: '', position: '3' }, body: 'def' }))
      const ali = await rejection(ossClient(server, { bucket: B }).append('log', Buffer.from('def'), { position: '3' }))
      assert.deepEqual([ali.status, ali.code], [409, 'FileImmutable'])
      assert.equal(await text(server, 'log'), 'abc')
    })

    void test('CompleteMultipartUpload onto a protected key answers 409 FileImmutable; the upload stays, its parts can be listed and it can be aborted', async (t) => {
      const server = await guarded(t)
      const init = await call(server, 'POST', B, 'old', { query: { uploads: '' } })
      assert.equal(init.status, 200, init.text)
      const uploadId = xmlField(init.text, 'UploadId') ?? ''
      const part = await call(server, 'PUT', B, 'old', { query: { partNumber: '1', uploadId }, body: 'replacement' })
      assert.equal(part.status, 200, part.text)
      assert.equal((await call(server, 'GET', B, 'old', { query: { uploadId } })).status, 200)

      const body = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${String(part.headers.etag)}</ETag></Part></CompleteMultipartUpload>`
      assertImmutable(await call(server, 'POST', B, 'old', { query: { uploadId }, body }))
      assertImmutable(await call(server, 'POST', B, 'old', { query: { uploadId }, headers: { 'x-oss-complete-all': 'yes' } }))
      assert.equal(await text(server, 'old'), 'old bytes')

      const parts = await call(server, 'GET', B, 'old', { query: { uploadId } })
      assert.equal(parts.status, 200)
      assert.deepEqual(xmlFields(parts.text, 'PartNumber'), ['1'])
      const uploads = await call(server, 'GET', B, undefined, { query: { uploads: '' } })
      assert.deepEqual(xmlFields(uploads.text, 'UploadId'), [uploadId])

      assert.equal((await call(server, 'DELETE', B, 'old', { query: { uploadId } })).status, 204)
      assert.deepEqual(xmlFields((await call(server, 'GET', B, undefined, { query: { uploads: '' } })).text, 'UploadId'), [])
      assert.equal(await text(server, 'old'), 'old bytes')
    })

    void test('DeleteObject of a protected key answers 409 FileImmutable and the object stays; an absent key is still 204', async (t) => {
      const server = await guarded(t)
      assertImmutable(await call(server, 'DELETE', B, 'old'))
      assertImmutable(await call(server, 'DELETE', B, 'after'))
      const ali = await rejection(ossClient(server, { bucket: B }).delete('after'))
      assert.deepEqual([ali.status, ali.code], [409, 'FileImmutable'])
      assert.equal(await text(server, 'old'), 'old bytes')
      assert.equal(await text(server, 'after'), 'after bytes')
      assert.equal((await call(server, 'DELETE', B, 'never-written')).status, 204)
    })

    void test('DeleteMultipleObjects naming a protected key answers 409 FileImmutable for the whole request and deletes nothing', async (t) => {
      const server = await guarded(t)
      assertImmutable(await deleteMultiple(server, ['missing', 'old']))
      assertImmutable(await deleteMultiple(server, ['after', 'log', 'old']))
      const ali = await rejection(aliApi(ossClient(server, { bucket: B })).deleteMulti(['old', 'missing']))
      assert.deepEqual([ali.status, ali.code], [409, 'FileImmutable'])
      const listed = await call(server, 'GET', B, undefined)
      assert.deepEqual(xmlFields(listed.text, 'Key'), ['after', 'log', 'old'])
      const onlyAbsent = await deleteMultiple(server, ['missing'])
      assert.equal(onlyAbsent.status, 200, onlyAbsent.text)
    })

    void test('protected objects can be read, listed, copied from and have their ACL changed', async (t) => {
      const server = await guarded(t)
      assert.equal(await text(server, 'old'), 'old bytes')
      assert.equal((await call(server, 'HEAD', B, 'old')).status, 200)
      assert.equal((await call(server, 'HEAD', B, 'old', { query: { objectMeta: '' } })).status, 200)
      assert.equal((await call(server, 'GET', B, 'old', { headers: { range: 'bytes=0-2' } })).text, 'old')
      assert.deepEqual(xmlFields((await call(server, 'GET', B, undefined)).text, 'Key'), ['after', 'log', 'old'])

      const acl = await call(server, 'PUT', B, 'old', { query: { acl: '' }, headers: { 'x-oss-object-acl': 'public-read' } })
      assert.equal(acl.status, 200, acl.text)
      assert.equal(xmlField((await call(server, 'GET', B, 'old', { query: { acl: '' } })).text, 'Grant'), 'public-read')
      assert.equal((await call(server, 'GET', B, 'old', { anonymous: true })).text, 'old bytes')
    })

    void test('DeleteBucket answers 409 BucketNotEmpty while protected objects remain', async (t) => {
      const server = await guarded(t)
      const res = await call(server, 'DELETE', B, undefined)
      assertOssError(res, 409, 'BucketNotEmpty')
      assert.equal(xmlField(res.text, 'Message'), 'The bucket you tried to delete is not empty.')
      assert.equal((await wormState(server, B)).state, state)
    })

    void test('AbortBucketWorm lifts protection only while InProgress', async (t) => {
      const server = await guarded(t)
      const abort = await abortWorm(server, B)
      if (state === 'Locked') {
        assertOssError(abort, 403, 'WORMConfigurationLocked')
        assertImmutable(await call(server, 'DELETE', B, 'old'))
      } else {
        assert.equal(abort.status, 204)
        assert.equal((await call(server, 'PUT', B, 'old', { body: 'rewritten' })).status, 200)
        assert.equal((await call(server, 'DELETE', B, 'after')).status, 204)
        assert.equal(await text(server, 'old'), 'rewritten')
      }
    })
  })
}

void test('DeleteBucket removes an empty bucket under a Locked policy and the policy goes with it', async (t) => {
  const server = await serverWithBuckets(t, 'w-empty')
  await lockWorm(server, 'w-empty', 25550)
  const del = await call(server, 'DELETE', 'w-empty', undefined)
  assert.equal(del.status, 204, del.text)
  assertOssError(await getWorm(server, 'w-empty'), 404, 'NoSuchBucket')

  assert.equal((await call(server, 'PUT', 'w-empty', undefined)).status, 200)
  assertNoWorm(await getWorm(server, 'w-empty'))
  assert.equal((await call(server, 'PUT', 'w-empty', 'k', { body: 'x' })).status, 200)
  assert.equal((await call(server, 'DELETE', 'w-empty', 'k')).status, 204)
  await startWorm(server, 'w-empty', 1)
})
