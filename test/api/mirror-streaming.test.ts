/**
 * Read-while-fill (mirror-rules.md B7): over --mirror-verify-limit the response starts before the
 * origin finishes, is aborted if the fill fails (nothing stored, failure counted), and a client
 * that leaves never cancels the fill. Conditionals on a miss wait for the commit.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { request, type IncomingHttpHeaders } from 'node:http'
import { join } from 'node:path'
import { test } from 'node:test'
import { SYNC_EVERY } from '../../src/store/embedded/growing.js'
import { crc64 } from '../../src/util/crc64.js'
import { etagOf } from '../support/object-http.js'
import { bigByte, startOrigin } from '../support/origin.js'
import { signed } from '../support/raw.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { assertMirrorFailed, assertNotStored, eventually, listKeys, mirrorBucket, outcomes, signedGetHeaders } from '../support/mirror.js'

const MIB = 1024 * 1024

function pattern(size: number): Buffer {
  const out = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) out[i] = bigByte(i)
  return out
}

interface Streamed {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
  /** The response ended with all its framing (Content-Length or last chunk). */
  readonly complete: boolean
}

/**
 * A signed GET that resolves when the response ends or breaks. `onHeaders` runs when the headers
 * arrive; returning 'leave' destroys the request there (a client that goes away).
 */
function streamGet(server: TestServer, bucket: string, key: string, onHeaders?: (headers: IncomingHttpHeaders) => Promise<'leave' | undefined> | 'leave' | undefined): Promise<Streamed> {
  const headers = signedGetHeaders(bucket, key)
  return new Promise((resolve, reject) => {
    let responded = false
    const req = request({ host: '127.0.0.1', port: server.port, path: `/${bucket}/${key}`, headers }, (res) => {
      responded = true
      const chunks: Buffer[] = []
      let done = false
      const finish = (): void => {
        if (done) return
        done = true
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete })
      }
      res.pause()
      // An abort after the headers surfaces on the response: it ends the read, incomplete.
      res.on('close', finish)
      res.on('error', finish)
      void Promise.resolve(onHeaders?.(res.headers)).then((what) => {
        if (what === 'leave') {
          req.destroy()
          finish()
          return
        }
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', finish)
        res.resume()
      }, reject)
    })
    req.on('error', (err) => {
      // Before any response this is a real failure; after it, the response handlers decide.
      if (!responded) reject(err)
    })
    req.end()
  })
}

void test('an object over --mirror-verify-limit streams: headers arrive before the origin finishes, without ETag or Last-Modified', async (t) => {
  const origin = await startOrigin(t)
  const size = 2 * MIB
  const body = pattern(size)
  origin.setRoute('/stream.bin', { mode: 'slow', body, chunkSize: 64 * 1024, delayMs: 30 })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: '1MiB' })
  await mirrorBucket(server, 'rwf', [{ url: origin.url }])
  let storedAtHeaders: string[] | undefined
  const res = await streamGet(server, 'rwf', 'stream.bin', async () => {
    storedAtHeaders = await listKeys(server, 'rwf')
    return undefined
  })
  assert.deepEqual(storedAtHeaders, [], 'the headers came before the fill committed')
  assert.equal(res.status, 200)
  assert.equal(res.complete, true)
  assert.ok(res.body.equals(body))
  assert.equal(res.headers['content-length'], String(size))
  assert.equal(res.headers['x-oss-tag'], 'MIRROR')
  for (const name of ['etag', 'last-modified', 'content-md5', 'x-oss-hash-crc64ecma']) assert.equal(res.headers[name], undefined, name)
  await eventually(async () => (await listKeys(server, 'rwf')).includes('stream.bin'), 10_000, 'the commit')
  const stored = await signed(server, 'HEAD', 'rwf', 'stream.bin')
  assert.equal(stored.headers.etag, etagOf(body))
  assert.equal(origin.hits('/stream.bin'), 1)
})

void test('a chunked origin body switches to streaming once it passes --mirror-verify-limit and is stored whole', async (t) => {
  const origin = await startOrigin(t)
  const size = 3 * MIB
  origin.setRoute('/chunked.bin', { mode: 'big', size, chunked: true })
  origin.setRoute('/chunked-small.txt', { mode: 'chunked', body: 'small chunked body' })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: '1MiB' })
  await mirrorBucket(server, 'rwf', [{ url: origin.url }])
  const res = await streamGet(server, 'rwf', 'chunked.bin')
  assert.equal(res.status, 200)
  assert.equal(res.complete, true)
  assert.equal(res.headers['transfer-encoding'], 'chunked')
  assert.ok(res.body.equals(pattern(size)))
  const small = await signed(server, 'GET', 'rwf', 'chunked-small.txt')
  assert.equal(small.text, 'small chunked body')
  assert.equal(small.headers.etag, etagOf('small chunked body'), 'verified before serving')
  await eventually(async () => (await listKeys(server, 'rwf')).length === 2, 10_000, 'both commits')
})

for (const failure of [
  { name: 'resets', key: 'reset.bin', route: { mode: 'reset-mid-body', size: 4 * MIB, after: 1536 * 1024 }, reason: 'read_body_failed' },
  { name: 'closes short of Content-Length', key: 'short.bin', route: { mode: 'short-body', declared: 4 * MIB, send: 1536 * 1024 }, reason: 'bytes_mismatch' },
  { name: 'sends a chunked body without its last chunk', key: 'trunc.bin', route: { mode: 'chunked-truncated' }, reason: 'read_body_failed' },
] as const) {
  void test(`a streaming fill whose origin ${failure.name} aborts every reader, stores nothing and counts ${failure.reason}`, async (t) => {
    const origin = await startOrigin(t)
    origin.holdMs = 500
    origin.setRoute(`/${failure.key}`, failure.route)
    // The truncated chunked body is 5 bytes: a tiny limit makes it stream too.
    const limit = failure.route.mode === 'chunked-truncated' ? '4' : '1MiB'
    const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: limit, adminPort: '0' })
    await mirrorBucket(server, 'rwf', [{ url: origin.url }])
    const readers = await Promise.all([0, 1, 2].map(() => streamGet(server, 'rwf', failure.key)))
    for (const res of readers) {
      assert.equal(res.status, 200, 'the headers went out before the failure')
      assert.equal(res.complete, false, 'the response was aborted')
      if (failure.route.mode !== 'chunked-truncated') assert.ok(res.body.length < 4 * MIB)
    }
    assert.equal(origin.hits(`/${failure.key}`), 1)
    await assertNotStored(server, 'rwf', failure.key)
    const count = await outcomes(server)
    assert.equal(count(failure.reason), 1)
    assert.equal(count('filled'), 0)
    // A later miss starts a new fill (the failure is not cached).
    origin.setRoute(`/${failure.key}`, { mode: 'ok', body: 'fixed' })
    assert.equal((await signed(server, 'GET', 'rwf', failure.key)).text, 'fixed')
  })
}

void test('a verify-before-serve failure after the headers would have been known is still a clean 424', async (t) => {
  const origin = await startOrigin(t)
  origin.setRoute('/small-short', { mode: 'short-body', declared: 1000, send: 10 })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: '1MiB' })
  await mirrorBucket(server, 'rwf', [{ url: origin.url }])
  assertMirrorFailed(await signed(server, 'GET', 'rwf', 'small-short'), 'bytes_mismatch')
  await assertNotStored(server, 'rwf', 'small-short')
})

void test('a client that leaves a streaming fill does not cancel it: the object is stored and a later GET is local', async (t) => {
  const origin = await startOrigin(t)
  const size = 2 * MIB
  origin.setRoute('/leave.bin', { mode: 'slow', body: pattern(size), chunkSize: 128 * 1024, delayMs: 20 })
  origin.setRoute('/leave-small', { mode: 'delay-headers', ms: 300, body: 'small body' })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: '1MiB' })
  await mirrorBucket(server, 'rwf', [{ url: origin.url }])
  const left = await streamGet(server, 'rwf', 'leave.bin', () => 'leave')
  assert.equal(left.status, 200)
  // A client of a verify-before-serve fill that leaves before any header.
  await new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: '/rwf/leave-small', headers: signedGetHeaders('rwf', 'leave-small') })
    req.on('error', () => resolve())
    req.end()
    setTimeout(() => req.destroy(), 50)
  })
  await eventually(async () => (await listKeys(server, 'rwf')).length === 2, 15_000, 'both fills to commit')
  const again = await signed(server, 'GET', 'rwf', 'leave.bin')
  assert.ok(again.body.equals(pattern(size)))
  assert.equal((await signed(server, 'GET', 'rwf', 'leave-small')).text, 'small body')
  assert.equal(origin.hits('/leave.bin'), 1)
  assert.equal(origin.hits('/leave-small'), 1)
})

void test('a conditional GET on a miss waits for the commit and is evaluated like a hit', async (t) => {
  const origin = await startOrigin(t)
  const big = pattern(2 * MIB)
  origin.setRoute('/cond-small', { mode: 'ok', body: 'conditional' })
  origin.setRoute('/cond-big', { mode: 'ok', body: big })
  origin.setRoute('/cond-412', { mode: 'ok', body: 'precondition' })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: '1MiB' })
  await mirrorBucket(server, 'rwf', [{ url: origin.url }])
  const small = await signed(server, 'GET', 'rwf', 'cond-small', { headers: { 'if-none-match': etagOf('conditional') } })
  assert.equal(small.status, 304)
  const large = await signed(server, 'GET', 'rwf', 'cond-big', { headers: { 'if-none-match': etagOf(big) } })
  assert.equal(large.status, 304)
  const failed = await signed(server, 'GET', 'rwf', 'cond-412', { headers: { 'if-match': '"00000000000000000000000000000000"' } })
  assert.equal(failed.status, 412)
  assert.deepEqual(await listKeys(server, 'rwf'), ['cond-412', 'cond-big', 'cond-small'])
})

void test('a large streaming fill that fails late, after its background syncs, aborts the reader and stores nothing', async (t) => {
  const origin = await startOrigin(t)
  // Time for the body to reach the server before the reset or close (an RST drops unread bytes).
  origin.holdMs = 500
  const size = 2 * SYNC_EVERY + 4 * MIB
  origin.setRoute('/late-reset.bin', { mode: 'reset-mid-body', size, after: size - MIB })
  origin.setRoute('/late-short.bin', { mode: 'short-body', declared: size, send: size - 1 })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: '1MiB', adminPort: '0' })
  await mirrorBucket(server, 'late', [{ url: origin.url }])
  for (const key of ['late-reset.bin', 'late-short.bin']) {
    const res = await streamGet(server, 'late', key)
    assert.equal(res.status, 200)
    assert.equal(res.complete, false, `${key}: the response was aborted`)
    assert.ok(res.body.length < size)
    await assertNotStored(server, 'late', key)
  }
  const count = await outcomes(server)
  assert.equal(count('read_body_failed'), 1)
  assert.equal(count('bytes_mismatch'), 1)
  assert.equal(count('filled'), 0)
  await eventually(async () => (await readdir(join(server.dataDir, 'tmp'))).length === 0, 10_000, 'staging files removed')
})

void test('consecutive and concurrent large fills, hashed on the one hash thread, store the right ETag and CRC-64 for each', async (t) => {
  const origin = await startOrigin(t)
  const sizes = [9 * MIB + 1, 10 * MIB + 7, 11 * MIB + 3, 12 * MIB + 5]
  for (const [i, size] of sizes.entries()) origin.setRoute(`/h${String(i)}.bin`, { mode: 'big', size })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: '1MiB' })
  await mirrorBucket(server, 'hash', [{ url: origin.url }])
  const check = async (i: number): Promise<void> => {
    const size = sizes[i] as number
    const filled = await streamGet(server, 'hash', `h${String(i)}.bin`)
    assert.equal(filled.complete, true)
    assert.equal(filled.body.length, size)
    const expected = pattern(size)
    assert.ok(filled.body.equals(expected))
    const stored = await signed(server, 'HEAD', 'hash', `h${String(i)}.bin`)
    assert.equal(stored.headers.etag, etagOf(expected))
    assert.equal(stored.headers['x-oss-hash-crc64ecma'], crc64(expected).toString())
  }
  await check(0)
  await check(1)
  await Promise.all([check(2), check(3)])
})

/** A signed GET read slowly (a pause after every chunk), so the server's sends queue up; the body's MD5. */
function slowGet(server: TestServer, bucket: string, key: string): Promise<{ status: number; complete: boolean; bytes: number; md5: string }> {
  const headers = signedGetHeaders(bucket, key)
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: `/${bucket}/${key}`, headers }, (res) => {
      const md5 = createHash('md5')
      let bytes = 0
      res.on('data', (c: Buffer) => {
        md5.update(c)
        bytes += c.length
        res.pause()
        setTimeout(() => res.resume(), 1)
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, complete: res.complete, bytes, md5: md5.digest('hex') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

void test('slow readers of a streaming fill read the staged file through reused buffers and still get exactly the origin bytes', async (t) => {
  const origin = await startOrigin(t)
  const size = 24 * MIB + 11
  origin.setRoute('/behind.bin', { mode: 'big', size })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, mirrorVerifyLimit: '1MiB' })
  await mirrorBucket(server, 'behind', [{ url: origin.url }])
  // The fill runs ahead of them, so their bytes come from the file; their sockets stay full, so
  // buffers queued for one must not be reused for another before the kernel has taken them.
  const readers = await Promise.all([1, 2, 3].map(() => slowGet(server, 'behind', 'behind.bin')))
  const md5 = createHash('md5').update(pattern(size)).digest('hex')
  for (const r of readers) assert.deepEqual(r, { status: 200, complete: true, bytes: size, md5 })
  assert.equal(origin.hits('/behind.bin'), 1)
})
