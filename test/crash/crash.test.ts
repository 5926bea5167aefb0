/**
 * Crash safety of the served CLI: SIGKILL mid PutObject, mid CompleteMultipartUpload and mid
 * CopyObject, restart on the same data dir, and check that each key shows its old or its new bytes
 * whole, the listing holds exactly the expected keys, and no file under the data dir lacks a row.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { crc64 } from '../../src/util/crc64.js'
import { serveCli, type RunningCli } from '../support/cli.js'
import { pacedPut } from '../support/paced.js'
import { signed, xmlField, type RawResponse } from '../support/raw.js'
import { assertStoreInvariants } from '../support/store-invariants.js'

const BUCKET = 'crash-bkt'
const KB100 = 100 * 1024

interface Hooks {
  after(fn: () => Promise<void> | void): void
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function md5Hex(b: Buffer): string {
  return createHash('md5').update(b).digest('hex').toUpperCase()
}

class Harness {
  readonly dir: string
  private readonly t: Hooks
  server: RunningCli | undefined
  /** Acceptable contents per key: one after a clean write, two (old, new) after a kill mid-write. */
  readonly expected = new Map<string, Buffer[]>()

  constructor(t: Hooks, dir: string) {
    this.t = t
    this.dir = dir
  }

  get port(): number {
    assert.ok(this.server !== undefined)
    return this.server.port
  }

  async start(): Promise<void> {
    this.server = await serveCli(this.t, this.dir)
  }

  async kill(): Promise<void> {
    assert.ok(this.server !== undefined)
    this.server.proc.child.kill('SIGKILL')
    const exit = await this.server.proc.exited
    // The server must not have finished on its own before the kill landed.
    assert.equal(exit.signal, 'SIGKILL')
    this.server = undefined
  }

  call(method: string, key: string | undefined, params: Record<string, string | undefined> = {}, extra: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<RawResponse> {
    const q = Object.entries(params)
      .map(([k, v]) => (v === undefined ? k : `${k}=${encodeURIComponent(v)}`))
      .join('&')
    const sub = Object.fromEntries(Object.entries(params).filter(([k]) => k === 'uploads' || k === 'uploadId' || k === 'partNumber'))
    return signed({ port: this.port }, method, BUCKET, key, { ...extra, ...(q !== '' ? { query: q } : {}), subresources: sub })
  }

  async put(key: string, body: Buffer): Promise<void> {
    const r = await this.call('PUT', key, {}, { body })
    assert.equal(r.status, 200, r.text)
    this.expected.set(key, [body])
  }

  /** Uploads `parts` into a new upload of `key` and returns the upload id and the Complete body. */
  async prepareMultipart(key: string, parts: readonly Buffer[]): Promise<{ uploadId: string; xml: string }> {
    const init = await this.call('POST', key, { uploads: undefined })
    assert.equal(init.status, 200, init.text)
    const uploadId = xmlField(init.text, 'UploadId') as string
    let xml = '<CompleteMultipartUpload>'
    for (const [i, p] of parts.entries()) {
      const r = await this.call('PUT', key, { partNumber: String(i + 1), uploadId }, { body: p })
      assert.equal(r.status, 200, r.text)
      xml += `<Part><PartNumber>${i + 1}</PartNumber><ETag>"${md5Hex(p)}"</ETag></Part>`
    }
    return { uploadId, xml: `${xml}</CompleteMultipartUpload>` }
  }

  /** After a restart: each key shows one acceptable content whole, and nothing else is listed. */
  async verify(): Promise<void> {
    const list = await this.call('GET', undefined, { 'max-keys': '1000' })
    assert.equal(list.status, 200, list.text)
    const keys = [...list.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1] as string)
    assert.deepEqual(keys, [...this.expected.keys()].sort(), 'the listing holds exactly the written keys')
    for (const [key, candidates] of this.expected) {
      const r = await this.call('GET', key)
      assert.equal(r.status, 200, `${key}: ${r.text}`)
      const match = candidates.find((c) => c.equals(r.body))
      assert.ok(match !== undefined, `${key}: ${r.body.length} bytes match neither the old nor the new content`)
      assert.equal(r.headers['x-oss-hash-crc64ecma'], crc64(r.body).toString(), key)
      this.expected.set(key, [match])
    }
    await assertStoreInvariants(this.dir)
  }
}

/** Sends a request and SIGKILLs the server `delayMs` after the request is fully written. */
async function killAfterSending(h: Harness, send: () => Promise<RawResponse>, delayMs: number): Promise<void> {
  const pending = send().then(
    (r) => r,
    () => undefined,
  )
  await sleep(delayMs)
  await h.kill()
  await pending
}

void describe('crash safety of the served CLI', () => {
  void test('SIGKILL mid PutObject, mid CompleteMultipartUpload and mid CopyObject leaves old or new whole and no orphans', { timeout: 240_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'mirrorstore-crash-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    const h = new Harness(t, dir)
    await h.start()
    assert.equal((await signed({ port: h.port }, 'PUT', BUCKET, undefined)).status, 200)
    await h.put('obj', randomBytes(50_000))
    await h.put('copy', randomBytes(20))
    // Each kill lands at a fraction of how long the same request takes uninterrupted, so the
    // rounds spread over before, during and after the commit (pacing only, nothing is asserted on time).
    const timed = async (fn: () => Promise<void>): Promise<number> => {
      const start = performance.now()
      await fn()
      return performance.now() - start
    }
    const putMs = await timed(() => h.put('obj', randomBytes(1024 * 1024)))
    const mpParts = (): Buffer[] => Array.from({ length: 40 }, (_, i) => randomBytes(i === 39 ? 1234 : KB100))
    const first = mpParts()
    const prepared = await h.prepareMultipart('mp', first)
    const completeMs = await timed(async () => {
      const r = await h.call('POST', 'mp', { uploadId: prepared.uploadId }, { body: prepared.xml })
      assert.equal(r.status, 200, r.text)
    })
    h.expected.set('mp', [Buffer.concat(first)])
    const copyMs = await timed(async () => {
      const r = await h.call('PUT', 'copy', {}, { headers: { 'x-oss-copy-source': `/${BUCKET}/mp` } })
      assert.equal(r.status, 200, r.text)
    })
    h.expected.set('copy', [Buffer.concat(first)])
    const fractions = [0.25, 0.75, 1.1]

    for (let round = 0; round < fractions.length; round++) {
      const at = fractions[round] as number
      // 1. Mid PutObject, the body half sent: the old object must stay, the partial body must go.
      {
        const old = h.expected.get('obj')?.[0] as Buffer
        const next = randomBytes(512 * 1024)
        const put = pacedPut(h.port, BUCKET, 'obj', next.length)
        await put.started
        await put.write(next.subarray(0, 200 * 1024 + round * 1000))
        await sleep(20)
        await h.kill()
        await h.start()
        h.expected.set('obj', [old])
        await h.verify()
      }

      // 2. PutObject with the whole body sent, killed at once or a moment later: old or new.
      {
        const old = h.expected.get('obj')?.[0] as Buffer
        const next = randomBytes(1024 * 1024)
        await killAfterSending(h, () => h.call('PUT', 'obj', {}, { body: next }), putMs * at)
        await h.start()
        h.expected.set('obj', [old, next])
        await h.verify()
      }

      // 3. Mid CompleteMultipartUpload of many parts.
      {
        const old = h.expected.get('mp')?.[0] as Buffer
        const parts = mpParts()
        const { uploadId, xml } = await h.prepareMultipart('mp', parts)
        await killAfterSending(h, () => h.call('POST', 'mp', { uploadId }, { body: xml }), completeMs * at)
        await h.start()
        const next = Buffer.concat(parts)
        h.expected.set('mp', [old, next])
        await h.verify()
        const uploads = await h.call('GET', undefined, { uploads: undefined })
        const open = xmlField(uploads.text, 'UploadId') ?? ''
        if ((h.expected.get('mp')?.[0] as Buffer).equals(next)) {
          assert.equal(open, '', 'a completed upload is gone')
        } else {
          // Not completed: the upload is intact and can still be completed.
          assert.equal(open, uploadId)
          const parts2 = await h.call('GET', 'mp', { uploadId })
          assert.equal([...parts2.text.matchAll(/<PartNumber>/g)].length, 40)
          const done = await h.call('POST', 'mp', { uploadId }, { body: xml })
          assert.equal(done.status, 200, done.text)
          h.expected.set('mp', [next])
        }
      }

      // 4. Mid CopyObject of a multipart source (the copy reads the source to compute its MD5).
      {
        const old = h.expected.get('copy')?.[0] as Buffer
        const src = h.expected.get('mp')?.[0] as Buffer
        await killAfterSending(h, () => h.call('PUT', 'copy', {}, { headers: { 'x-oss-copy-source': `/${BUCKET}/mp` } }), copyMs * at)
        await h.start()
        h.expected.set('copy', [old, src])
        await h.verify()
        // Replace the source so the next round's copy reads an uncached multipart object again.
        const parts = [randomBytes(KB100), randomBytes(KB100), randomBytes(999)]
        const { uploadId, xml } = await h.prepareMultipart('mp', parts)
        const done = await h.call('POST', 'mp', { uploadId }, { body: xml })
        assert.equal(done.status, 200, done.text)
        h.expected.set('mp', [Buffer.concat(parts)])
      }
    }
    await h.verify()
  })
})
