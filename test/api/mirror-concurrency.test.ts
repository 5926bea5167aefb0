/**
 * Single flight (mirror-rules.md B8): concurrent misses of one key share one origin request and
 * one result, whether that is the bytes, a streamed body, or a 424.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bigByte, startOrigin } from '../support/origin.js'
import { signed } from '../support/raw.js'
import { startTestServer } from '../support/server.js'
import { assertMirrorFailed, assertNotStored, mirrorBucket, outcomes } from '../support/mirror.js'

const HERD = 50

void test('50 concurrent GET misses of one key make exactly one origin request and all get identical bytes', async (t) => {
  const origin = await startOrigin(t)
  const body = Buffer.from('coalesced origin body '.repeat(100))
  origin.setRoute('/herd', { mode: 'delay-headers', ms: 1500, body })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, adminPort: '0' })
  await mirrorBucket(server, 'herd', [{ url: origin.url }])
  const results = await Promise.all(Array.from({ length: HERD }, () => signed(server, 'GET', 'herd', 'herd')))
  assert.equal(origin.hits('/herd'), 1)
  for (const res of results) {
    assert.equal(res.status, 200)
    assert.ok(res.body.equals(body))
    assert.equal(res.headers['x-oss-tag'], 'MIRROR')
  }
  const count = await outcomes(server)
  assert.equal(count('filled'), 1)
  assert.equal(count('coalesced'), HERD - 1)
})

void test('50 concurrent GET misses of a failing origin make one origin request and all get the same 424', async (t) => {
  const origin = await startOrigin(t)
  origin.setRoute('/herd-fail', { mode: 'stall-mid-body', declared: 100, after: 10 })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorReadTimeout: '1s', adminPort: '0' })
  await mirrorBucket(server, 'herd', [{ url: origin.url }])
  const results = await Promise.all(Array.from({ length: HERD }, () => signed(server, 'GET', 'herd', 'herd-fail')))
  assert.equal(origin.hits('/herd-fail'), 1)
  for (const res of results) assertMirrorFailed(res, 'read_body_failed')
  await assertNotStored(server, 'herd', 'herd-fail')
  const count = await outcomes(server)
  assert.equal(count('read_body_failed'), 1, 'a failure is counted once per fill')
  assert.equal(count('coalesced'), HERD - 1)
})

void test('50 concurrent GET misses of a streamed object (over --mirror-verify-limit) all read it from byte 0 with one origin request', async (t) => {
  const origin = await startOrigin(t)
  const size = 2 * 1024 * 1024
  const body = Buffer.from(Array.from({ length: size }, (_, i) => bigByte(i)))
  origin.setRoute('/herd-stream', { mode: 'slow', body, chunkSize: 128 * 1024, delayMs: 50 })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: '1MiB', adminPort: '0' })
  await mirrorBucket(server, 'herd', [{ url: origin.url }])
  const results = await Promise.all(Array.from({ length: HERD }, () => signed(server, 'GET', 'herd', 'herd-stream')))
  assert.equal(origin.hits('/herd-stream'), 1)
  for (const res of results) {
    assert.equal(res.status, 200)
    assert.equal(res.body.length, size)
    assert.ok(res.body.equals(body))
  }
  const count = await outcomes(server)
  assert.equal(count('filled'), 1)
  // Requests that arrive after the commit (a loaded machine) are hits, never new fills.
  assert.equal(count('coalesced') + count('hit'), HERD - 1)
  assert.ok(count('coalesced') >= 1)
})

void test('concurrent misses with different Range headers join one fill and each gets its own range', async (t) => {
  const origin = await startOrigin(t)
  origin.setRoute('/ranged', { mode: 'delay-headers', ms: 500, body: '0123456789' })
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'herd', [{ url: origin.url }])
  const ranges = ['bytes=0-0', 'bytes=3-5', 'bytes=-2', 'bytes=7-']
  const results = await Promise.all([...ranges.map((range) => signed(server, 'GET', 'herd', 'ranged', { headers: { range } })), signed(server, 'GET', 'herd', 'ranged')])
  assert.deepEqual(
    results.map((r) => [r.status, r.text]),
    [
      [206, '0'],
      [206, '345'],
      [206, '89'],
      [206, '789'],
      [200, '0123456789'],
    ],
  )
  assert.equal(origin.hits('/ranged'), 1)
})
