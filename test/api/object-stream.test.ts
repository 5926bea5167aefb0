/** Streaming and races: a 200 MiB body generated on the fly (never allocated whole here) round trips; GETs racing overwrites never tear. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { request, type IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Crc64 } from '../../src/util/crc64.js'
import { call, v1Authorization } from '../support/object-http.js'
import { startTestServer } from '../support/server.js'

const B = 'stream-bkt'
const CHUNK = 1024 * 1024
const CHUNKS = 200
const SIZE = CHUNK * CHUNKS

/** Chunk i of the body: a fixed pseudo-random pattern with i stamped into its first 4 bytes. */
const PATTERN = Buffer.from(Array.from({ length: CHUNK }, (_, j) => (j * 2654435761) >>> 24))
function chunk(i: number): Buffer {
  const c = Buffer.from(PATTERN)
  c.writeUInt32BE(i, 0)
  return c
}

function* chunks(): Generator<Buffer> {
  for (let i = 0; i < CHUNKS; i++) yield chunk(i)
}

function signedHeaders(method: string, key: string, extra: Record<string, string> = {}): Record<string, string> {
  const headers = { 'x-oss-date': new Date().toUTCString(), ...extra }
  return { ...headers, authorization: v1Authorization(method, B, key, headers) }
}

function send(port: number, method: string, key: string, headers: Record<string, string>, body?: Readable): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: `/${B}/${key}`, headers }, resolve)
    req.on('error', reject)
    if (body === undefined) req.end()
    else pipeline(body, req).catch(reject)
  })
}

void test('a 200 MiB PUT streamed with Content-Length reads back with the same MD5, CRC64 and tail bytes', { timeout: 180_000 }, async (t) => {
  const server = await startTestServer(t)
  await call(server, 'PUT', B, undefined)

  const md5 = createHash('md5')
  const crc = new Crc64()
  for (const c of chunks()) {
    md5.update(c)
    crc.update(c)
  }
  const expectedMd5 = md5.digest('hex').toUpperCase()
  const expectedCrc = crc.digest().toString()

  const put = await send(server.port, 'PUT', 'big.bin', signedHeaders('PUT', 'big.bin', { 'content-length': String(SIZE) }), Readable.from(chunks()))
  put.resume()
  assert.equal(put.statusCode, 200)
  assert.equal(put.headers.etag, `"${expectedMd5}"`)
  assert.equal(put.headers['x-oss-hash-crc64ecma'], expectedCrc)

  const get = await send(server.port, 'GET', 'big.bin', signedHeaders('GET', 'big.bin'))
  assert.equal(get.statusCode, 200)
  assert.equal(get.headers['content-length'], String(SIZE))
  const readMd5 = createHash('md5')
  let received = 0
  for await (const part of get as AsyncIterable<Buffer>) {
    readMd5.update(part)
    received += part.length
  }
  assert.equal(received, SIZE)
  assert.equal(readMd5.digest('hex').toUpperCase(), expectedMd5)

  const tail = await call(server, 'GET', B, 'big.bin', { headers: { range: `bytes=${SIZE - CHUNK - 2}-${SIZE - CHUNK + 5}` } })
  assert.equal(tail.status, 206)
  assert.deepEqual(tail.body, Buffer.concat([chunk(CHUNKS - 2).subarray(CHUNK - 2), chunk(CHUNKS - 1).subarray(0, 6)]))
})

void test('GETs racing overwrites of the same key each return one whole version, matching its ETag', { timeout: 120_000 }, async (t) => {
  const server = await startTestServer(t)
  await call(server, 'PUT', B, undefined)
  const versions = [Buffer.alloc(300_000, 'a'), Buffer.alloc(150_000, 'b'), Buffer.alloc(450_000, 'c')]
  await call(server, 'PUT', B, 'hot', { body: versions[0]! })
  let writing = true
  const writer = (async () => {
    for (let i = 1; i <= 30; i++) await call(server, 'PUT', B, 'hot', { body: versions[i % versions.length]! })
    writing = false
  })()
  const readers = Array.from({ length: 4 }, async () => {
    let reads = 0
    while (writing || reads === 0) {
      const res = await call(server, 'GET', B, 'hot')
      assert.equal(res.status, 200)
      const version = versions.find((v) => v.equals(res.body))
      assert.ok(version !== undefined, `torn read of ${res.body.length} bytes`)
      assert.equal(res.headers.etag, `"${createHash('md5').update(version).digest('hex').toUpperCase()}"`)
      assert.equal(res.headers['content-length'], String(version.length))
      reads++
    }
  })
  await Promise.all([writer, ...readers])
})

/** GET of `key` (optionally a Range), the body's MD5; `leaveAfter` bytes: the client hangs up there. */
async function download(port: number, key: string, range?: string, leaveAfter?: number): Promise<{ status: number; md5: string; bytes: number }> {
  const res = await send(port, 'GET', key, signedHeaders('GET', key, range === undefined ? {} : { range }))
  const md5 = createHash('md5')
  let bytes = 0
  for await (const c of res as AsyncIterable<Buffer>) {
    md5.update(c)
    bytes += c.length
    if (leaveAfter !== undefined && bytes >= leaveAfter) {
      res.destroy()
      break
    }
  }
  return { status: res.statusCode ?? 0, md5: md5.digest('hex'), bytes }
}

void test('large objects read through reused buffers: concurrent whole and ranged GETs of two objects, and clients leaving mid-body, each get exactly their bytes', { timeout: 120_000 }, async (t) => {
  const server = await startTestServer(t)
  await call(server, 'PUT', B, undefined)
  // Over 8 MiB: read in 512 KiB pooled chunks. Different patterns, so a buffer reused too early shows.
  const size = 12 * CHUNK + 12345
  const bodies = [0, 1].map((n) => {
    const b = Buffer.alloc(size)
    for (let i = 0; i < size; i += 4) b.writeUInt32BE(((i * 2654435761) ^ (n * 0x5bd1e995)) >>> 0, Math.min(i, size - 4))
    return b
  })
  for (const [n, body] of bodies.entries()) {
    const res = await send(server.port, 'PUT', `large-${String(n)}`, signedHeaders('PUT', `large-${String(n)}`, { 'content-length': String(size) }), Readable.from([body]))
    res.resume()
    assert.equal(res.statusCode, 200)
  }
  const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex')
  for (let round = 0; round < 2; round++) {
    const jobs: Promise<void>[] = []
    for (const [n, body] of bodies.entries()) {
      const key = `large-${String(n)}`
      for (let i = 0; i < 3; i++) {
        jobs.push(download(server.port, key).then((r) => assert.deepEqual(r, { status: 200, md5: md5(body), bytes: size })))
      }
      const start = 700_001 + n
      const end = size - 3
      jobs.push(download(server.port, key, `bytes=${String(start)}-${String(end)}`).then((r) => assert.deepEqual(r, { status: 206, md5: md5(body.subarray(start, end + 1)), bytes: end + 1 - start })))
      jobs.push(download(server.port, key, undefined, 2 * CHUNK).then((r) => assert.equal(r.status, 200)))
    }
    await Promise.all(jobs)
  }
})
