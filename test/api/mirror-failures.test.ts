/**
 * The 424 contract (mirror-rules.md B5, B6): every origin failure is 424 MirrorFailed with exactly
 * one of the eight messages, an EC only where one is documented, and nothing stored afterwards.
 */
import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { startOrigin, refusedPort, type RouteSpec } from '../support/origin.js'
import { signed } from '../support/raw.js'
import { startTestServer } from '../support/server.js'
import { assertHeadMirrorFailed, assertMirrorFailed, assertNotStored, EC, eventually, listKeys, mirrorBucket, type MirrorReason } from '../support/mirror.js'

interface Case {
  readonly name: string
  readonly key: string
  readonly route?: RouteSpec
  readonly reason: MirrorReason
  readonly ec?: string
}

const CASES: readonly Case[] = [
  { name: 'the origin answers 404', key: 'c/404', route: { mode: 'status', status: 404, body: 'nope' }, reason: 'config_failed' },
  { name: 'the origin answers 500', key: 'c/500', route: { mode: 'status', status: 500 }, reason: 'config_failed', ec: EC.status },
  { name: 'the origin answers 403', key: 'c/403', route: { mode: 'status', status: 403 }, reason: 'config_failed', ec: EC.status },
  { name: 'the origin answers 204', key: 'c/204', route: { mode: 'status', status: 204 }, reason: 'config_failed', ec: EC.status },
  { name: 'the origin redirects in a loop', key: 'c/loop', route: { mode: 'redirect-loop' }, reason: 'config_failed' },
  { name: 'the origin redirects 11 times', key: 'c/eleven', route: { mode: 'redirect', hops: 11 }, reason: 'config_failed' },
  { name: 'the origin answers a 206 for part of the object', key: 'c/partial', route: { mode: 'partial-206', body: 'abcdefghij', start: 2, end: 5 }, reason: 'config_failed', ec: EC.badRange },
  { name: 'the origin declares a body over the 5 GiB object maximum', key: 'c/over-max', route: { mode: 'status', status: 200, headers: { 'content-length': String(6 * 1024 ** 3) } }, reason: 'config_failed' },
  { name: 'the origin redirects to a non-http(s) Location', key: 'c/ftp', route: { mode: 'redirect-to', location: 'ftp://127.0.0.1/x' }, reason: 'config_failed' },
  { name: 'the origin resets the connection mid-body', key: 'c/reset', route: { mode: 'reset-mid-body', size: 100, after: 10 }, reason: 'read_body_failed' },
  { name: 'the origin resets a chunked body', key: 'c/reset-chunked', route: { mode: 'reset-mid-body', chunked: true, after: 10 }, reason: 'read_body_failed' },
  { name: 'the origin goes silent past --mirror-read-timeout', key: 'c/stall', route: { mode: 'stall-mid-body', declared: 100, after: 10 }, reason: 'read_body_failed' },
  { name: 'the origin closes a chunked body without its last chunk', key: 'c/truncated', route: { mode: 'chunked-truncated' }, reason: 'read_body_failed' },
  { name: 'the origin closes cleanly short of Content-Length', key: 'c/short', route: { mode: 'short-body', declared: 100, send: 10 }, reason: 'bytes_mismatch' },
  { name: 'the origin closes cleanly short of Content-Length with Connection: close', key: 'c/short-close', route: { mode: 'short-body', declared: 100, send: 10, connectionClose: true }, reason: 'bytes_mismatch' },
  { name: 'the origin sends more than Content-Length', key: 'c/long', route: { mode: 'long-body', declared: 10, send: 20 }, reason: 'bytes_mismatch' },
  { name: 'MirrorCheckMd5 is on and Content-MD5 is wrong', key: 'md5/wrong', route: { mode: 'wrong-md5', body: 'checked body' }, reason: 'md5_mismatch' },
  { name: 'MirrorCheckMd5 is on and Content-MD5 is malformed', key: 'md5/malformed', route: { mode: 'ok', body: 'checked body', headers: { 'content-md5': 'not-base64!' } }, reason: 'md5_mismatch' },
  { name: 'MirrorSaveOssMeta is on and the origin x-oss-meta-* reach 8 KB', key: 'meta/huge', route: { mode: 'huge-meta', metaBytes: 8192 }, reason: 'meta_too_large' },
]

void test('GetObject answers each origin failure with its 424 MirrorFailed message and EC, and stores nothing', async (t) => {
  const origin = await startOrigin(t)
  const refused = await refusedPort()
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorReadTimeout: '1s' })
  await mirrorBucket(server, 'fails', [
    { number: 1, prefix: 'md5/', url: origin.url, redirect: '<MirrorCheckMd5>true</MirrorCheckMd5>' },
    { number: 2, prefix: 'meta/', url: origin.url, redirect: '<MirrorSaveOssMeta>true</MirrorSaveOssMeta>' },
    { number: 3, prefix: 'refused/', url: `http://127.0.0.1:${refused}` },
    { number: 4, prefix: 'head/', url: origin.url, redirect: '<MirrorAllowHeadObject>true</MirrorAllowHeadObject>' },
    { number: 5, url: origin.url },
  ])
  for (const c of CASES) if (c.route !== undefined) origin.setRoute(`/${c.key}`, c.route)

  await Promise.all(
    CASES.map(async (c) => {
      const res = await signed(server, 'GET', 'fails', c.key)
      assertMirrorFailed(res, c.reason, c.ec)
      assert.equal(origin.hits(`/${c.key}`) >= 1, true, c.name)
      await assertNotStored(server, 'fails', c.key)
    }),
  )
  await t.test('a refused connection is message 1 with EC 0041-00000104', async () => {
    assertMirrorFailed(await signed(server, 'GET', 'fails', 'refused/x'), 'config_failed', '0041-00000104')
    await assertNotStored(server, 'fails', 'refused/x')
  })
  await t.test('an origin key with a dot segment is message 1 without any origin request', async () => {
    origin.setRoute('/b', 'ok')
    origin.setRoute('/a/../b', 'ok')
    assertMirrorFailed(await signed(server, 'GET', 'fails', 'a/../b'), 'config_failed')
    assertMirrorFailed(await signed(server, 'GET', 'fails', 'a/./b'), 'config_failed')
    assert.equal(origin.hits('/b') + origin.hits('/a/../b') + origin.hits('/a/./b') + origin.hits('/a/b'), 0)
  })
  await t.test('a 206 whose Content-Range covers the whole object is stored like a 200', async () => {
    origin.setRoute('/c/whole-206', { mode: 'whole-206', body: 'whole object' })
    const res = await signed(server, 'GET', 'fails', 'c/whole-206')
    assert.equal(res.status, 200, res.text)
    assert.equal(res.text, 'whole object')
    assert.ok((await listKeys(server, 'fails')).includes('c/whole-206'))
  })
  await t.test('ten redirects are followed and the final body is stored', async () => {
    origin.setRoute('/c/ten', { mode: 'redirect', hops: 10 })
    const res = await signed(server, 'GET', 'fails', 'c/ten')
    assert.equal(res.status, 200, res.text)
    assert.equal(origin.hits('/c/ten'), 11)
    assert.ok((await listKeys(server, 'fails')).includes('c/ten'))
  })
  await t.test('HEAD with MirrorAllowHeadObject answers a failure body-less with x-oss-err', async () => {
    origin.setRoute('/head/500', { mode: 'status', status: 500 })
    assertHeadMirrorFailed(await signed(server, 'HEAD', 'fails', 'head/500'), 'config_failed', EC.status)
    origin.setRoute('/head/short', { mode: 'short-body', declared: 50, send: 5 })
    assertHeadMirrorFailed(await signed(server, 'HEAD', 'fails', 'head/short'), 'bytes_mismatch')
    assert.ok(!(await listKeys(server, 'fails')).some((k) => k.startsWith('head/')))
  })
  await t.test('a failed fill leaves nothing behind: the next miss fetches again', async () => {
    const before = origin.hits('/c/500')
    assertMirrorFailed(await signed(server, 'GET', 'fails', 'c/500'), 'config_failed', EC.status)
    assert.equal(origin.hits('/c/500'), before + 1)
  })
})

void test('GetObject answers 424 with EC 0041-00000108 for a loopback origin without --mirror-allow-private, with no origin request', async (t) => {
  const origin = await startOrigin(t)
  origin.setRoute('/guarded', 'ok')
  const server = await startTestServer(t)
  await mirrorBucket(server, 'ssrf', [{ url: origin.url }])
  assertMirrorFailed(await signed(server, 'GET', 'ssrf', 'guarded'), 'config_failed', EC.privateAddress)
  assert.equal(origin.hits('/guarded'), 0)
  await assertNotStored(server, 'ssrf', 'guarded')
})

void test('GetObject answers 424 "Mirror request is rejected by QoS." for fills over --mirror-qps, and stores none of them', async (t) => {
  const origin = await startOrigin(t)
  const keys = Array.from({ length: 8 }, (_, i) => `q${i}`)
  for (const k of keys) origin.setRoute(`/${k}`, { mode: 'ok', body: `body ${k}` })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorQps: '2' })
  await mirrorBucket(server, 'qos', [{ url: origin.url }])
  const results = await Promise.all(keys.map((k) => signed(server, 'GET', 'qos', k)))
  const rejected = keys.filter((_, i) => results[i]?.status === 424)
  const served = keys.filter((_, i) => results[i]?.status === 200)
  assert.equal(rejected.length + served.length, keys.length)
  // The bucket starts full with one second of budget: two admitted at once, the rest (bar refill) refused.
  assert.ok(served.length >= 2 && rejected.length >= 4, `served ${served.length}, rejected ${rejected.length}`)
  for (const [i, k] of keys.entries()) {
    const res = results[i]
    assert.ok(res !== undefined)
    if (res.status === 424) {
      assertMirrorFailed(res, 'qos_rejected')
      assert.equal(origin.hits(`/${k}`), 0, `${k} reached the origin`)
      await assertNotStored(server, 'qos', k)
    } else {
      assert.equal(res.text, `body ${k}`)
    }
  }
})

/** Starts a GET miss on a slow origin, then writes the key with a PutObject while the fill runs. */
async function raceClientWrite(t: TestContext, worm: 'none' | 'InProgress' | 'Locked'): Promise<void> {
  const origin = await startOrigin(t)
  origin.setRoute('/raced', { mode: 'slow', body: 'o'.repeat(20), chunkSize: 2, delayMs: 40 })
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'race', [{ url: origin.url }])
  if (worm !== 'none') {
    const body = '<InitiateWormConfiguration><RetentionPeriodInDays>1</RetentionPeriodInDays></InitiateWormConfiguration>'
    const init = await signed(server, 'POST', 'race', undefined, { query: 'worm', subresources: { worm: '' }, body })
    assert.equal(init.status, 200, init.text)
    const wormId = String(init.headers['x-oss-worm-id'])
    if (worm === 'Locked') {
      const lock = await signed(server, 'POST', 'race', undefined, { query: `wormId=${wormId}`, subresources: { wormId } })
      assert.equal(lock.status, 200, lock.text)
    }
  }
  const pending = signed(server, 'GET', 'race', 'raced')
  await eventually(() => origin.hits('/raced') === 1, 10_000, 'the fill to reach the origin')
  const put = await signed(server, 'PUT', 'race', 'raced', { body: 'client wins' })
  assert.equal(put.status, 200, put.text)
  assertMirrorFailed(await pending, worm === 'none' ? 'already_exists' : 'immutable')
  const after = await signed(server, 'GET', 'race', 'raced')
  assert.equal(after.status, 200)
  assert.equal(after.text, 'client wins')
  assert.equal(after.headers['x-oss-tag'], undefined)
  assert.equal(origin.hits('/raced'), 1)
}

void test('GetObject answers 424 "The object you specified already exists and can not be overwritten." when a client writes the key during the fill, and the client object stays', async (t) => {
  await raceClientWrite(t, 'none')
})

void test('GetObject answers 424 "The object you specified is immutable." when a client writes the key during the fill on a bucket with an InProgress retention policy', async (t) => {
  await raceClientWrite(t, 'InProgress')
})

void test('GetObject answers 424 "The object you specified is immutable." when a client writes the key during the fill on a bucket with a Locked retention policy', async (t) => {
  await raceClientWrite(t, 'Locked')
})
