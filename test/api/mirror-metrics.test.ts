/**
 * The admin listener (mirror-rules.md B11, B12): /health, and /metrics counting every mirror
 * outcome, origin body bytes and one duration observation per origin attempt.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startOrigin } from '../support/origin.js'
import { signed } from '../support/raw.js'
import { startTestServer } from '../support/server.js'
import { admin, eventually, metric, mirrorBucket } from '../support/mirror.js'

void test('the admin listener answers GET /health with 200 ok and 404 for other paths; /metrics is not served on the OSS port', async (t) => {
  const server = await startTestServer(t, { adminPort: '0' })
  const health = await admin(server, '/health')
  assert.equal(health.status, 200)
  assert.equal(health.text, 'ok')
  assert.equal((await admin(server, '/nope')).status, 404)
  const metrics = await admin(server, '/metrics')
  assert.equal(metrics.status, 200)
  assert.match(String(metrics.contentType), /^text\/plain/)
  for (const outcome of ['hit', 'filled', 'coalesced', 'transparent', 'redirect', 'config_failed', 'read_body_failed', 'bytes_mismatch', 'md5_mismatch', 'already_exists', 'immutable', 'meta_too_large', 'qos_rejected']) {
    assert.ok(metrics.text.includes(`mirrorstore_mirror_outcomes_total{outcome="${outcome}"} 0`), outcome)
  }
  assert.ok(metrics.text.includes('# TYPE mirrorstore_mirror_origin_duration_seconds histogram'))
  assert.ok(metrics.text.includes('mirrorstore_mirror_origin_bytes_total 0'))
})

void test('/metrics counts each mirror outcome once per fill (joiners as coalesced, hits, QoS once per request), origin bytes, and one duration per origin attempt', async (t) => {
  const origin = await startOrigin(t)
  const okBody = Buffer.alloc(1000, 0x61)
  origin.setRoute('/ok', { mode: 'ok', body: okBody })
  origin.setRoute('/herd', { mode: 'delay-headers', ms: 500, body: 'herd body' })
  origin.setRoute('/hop', { mode: 'redirect', hops: 2 })
  origin.setRoute('/transparent', { mode: 'status', status: 404, body: 'gone' })
  origin.setRoute('/redirect', { mode: 'redirect-to', location: 'http://example.invalid/x' })
  origin.setRoute('/missing', { mode: 'status', status: 404 })
  origin.setRoute('/reset', { mode: 'reset-mid-body', size: 100, after: 10 })
  origin.setRoute('/short', { mode: 'short-body', declared: 100, send: 10 })
  origin.setRoute('/md5', { mode: 'wrong-md5', body: 'md5 body' })
  origin.setRoute('/meta', { mode: 'huge-meta' })
  origin.setRoute('/race', { mode: 'slow', body: 'r'.repeat(20), chunkSize: 2, delayMs: 40 })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, adminPort: '0' })
  await mirrorBucket(server, 'metrics', [
    { number: 1, prefix: 'transparent', url: origin.url, redirect: '<TransparentMirrorResponseCodes>404</TransparentMirrorResponseCodes>' },
    { number: 2, prefix: 'redirect', url: origin.url, redirect: '<MirrorFollowRedirect>false</MirrorFollowRedirect>' },
    { number: 3, prefix: 'md5', url: origin.url, redirect: '<MirrorCheckMd5>true</MirrorCheckMd5>' },
    { number: 4, prefix: 'meta', url: origin.url, redirect: '<MirrorSaveOssMeta>true</MirrorSaveOssMeta>' },
    { number: 5, url: origin.url },
  ])

  const get = (key: string) => signed(server, 'GET', 'metrics', key)
  assert.equal((await get('ok')).status, 200)
  assert.equal((await get('ok')).status, 200)
  assert.equal((await get('ok')).status, 200)
  const herd = await Promise.all([1, 2, 3, 4].map(() => get('herd')))
  assert.deepEqual(
    herd.map((r) => r.status),
    [200, 200, 200, 200],
  )
  assert.equal((await get('hop')).status, 200)
  assert.equal((await get('transparent')).status, 404)
  assert.equal((await get('redirect')).status, 302)
  for (const key of ['missing', 'reset', 'short', 'md5', 'meta']) assert.equal((await get(key)).status, 424, key)
  const raced = get('race')
  await eventually(() => origin.hits('/race') === 1, 10_000, 'the raced fill to start')
  assert.equal((await signed(server, 'PUT', 'metrics', 'race', { body: 'client' })).status, 200)
  assert.equal((await raced).status, 424)
  assert.equal((await get('race')).status, 200)

  const { text } = await admin(server, '/metrics')
  const outcome = (o: string) => metric(text, 'mirrorstore_mirror_outcomes_total', { outcome: o })
  assert.deepEqual(
    Object.fromEntries(['hit', 'filled', 'coalesced', 'transparent', 'redirect', 'config_failed', 'read_body_failed', 'bytes_mismatch', 'md5_mismatch', 'already_exists', 'immutable', 'meta_too_large', 'qos_rejected'].map((o) => [o, outcome(o)])),
    {
      hit: 3,
      filled: 3,
      coalesced: 3,
      transparent: 1,
      redirect: 1,
      config_failed: 1,
      read_body_failed: 1,
      bytes_mismatch: 1,
      md5_mismatch: 1,
      already_exists: 1,
      immutable: 0,
      meta_too_large: 1,
      qos_rejected: 0,
    },
  )
  // Body bytes of the completed fills: ok (1000), herd (9), hop (default body), md5 (8) and race (20),
  // the passed-through 404 body ('gone'), plus partial ones.
  const bytes = metric(text, 'mirrorstore_mirror_origin_bytes_total')
  const complete = 1000 + 'herd body'.length + 'hello from the origin\n'.length + 'md5 body'.length + 20 + 'gone'.length
  assert.ok(bytes >= complete + 10 + 10 && bytes <= complete + 200, `origin bytes ${bytes}`)
  // One observation per origin attempt: 11 fills reached an origin, each in one attempt.
  const okCount = metric(text, 'mirrorstore_mirror_origin_duration_seconds_count', { result: 'ok' })
  const errorCount = metric(text, 'mirrorstore_mirror_origin_duration_seconds_count', { result: 'error' })
  assert.equal(okCount + errorCount, 11, `ok ${okCount}, error ${errorCount}`)
  assert.ok(errorCount >= 3, `the missing, reset and short attempts are errors (error ${errorCount})`)
  assert.ok(metric(text, 'mirrorstore_mirror_origin_duration_seconds_bucket', { result: 'ok', le: '+Inf' }) === okCount)
})

void test('/metrics counts a QoS rejection once per request', async (t) => {
  const origin = await startOrigin(t)
  for (let i = 0; i < 5; i++) origin.setRoute(`/q${i}`, 'ok')
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorQps: '1', adminPort: '0' })
  await mirrorBucket(server, 'qos', [{ url: origin.url }])
  const results = await Promise.all([0, 1, 2, 3, 4].map((i) => signed(server, 'GET', 'qos', `q${i}`)))
  const rejected = results.filter((r) => r.status === 424).length
  assert.ok(rejected >= 3, `rejected ${rejected}`)
  const { text } = await admin(server, '/metrics')
  assert.equal(metric(text, 'mirrorstore_mirror_outcomes_total', { outcome: 'qos_rejected' }), rejected)
  assert.equal(metric(text, 'mirrorstore_mirror_outcomes_total', { outcome: 'filled' }), 5 - rejected)
})

void test('/metrics observes a failed-over primary and its secondary as two origin attempts', async (t) => {
  const primary = await startOrigin(t)
  const secondary = await startOrigin(t)
  primary.setRoute('/f', { mode: 'redirect-to', location: '/f2' })
  primary.setRoute('/f2', { mode: 'status', status: 503 })
  secondary.setRoute('/f', { mode: 'redirect', hops: 1 })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, adminPort: '0' })
  await mirrorBucket(server, 'failover', [{ url: primary.url, redirect: `<MirrorURLSlave>${secondary.url}/</MirrorURLSlave>` }])
  assert.equal((await signed(server, 'GET', 'failover', 'f')).status, 200)
  const { text } = await admin(server, '/metrics')
  assert.equal(metric(text, 'mirrorstore_mirror_origin_duration_seconds_count', { result: 'error' }), 1)
  assert.equal(metric(text, 'mirrorstore_mirror_origin_duration_seconds_count', { result: 'ok' }), 1)
})
