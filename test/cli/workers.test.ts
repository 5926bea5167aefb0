/**
 * --workers N: the workers share the port, and the primary coordinates them, so a herd of misses
 * spread over workers still makes one origin fetch and the QoS budget is shared.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { serveCli } from '../support/cli.js'
import { metric, mirrorBucket } from '../support/mirror.js'
import { startOrigin } from '../support/origin.js'

interface Hooks {
  after(fn: () => Promise<void> | void): void
}

async function dataDir(t: Hooks): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorstore-workers-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** An anonymous GET on a fresh connection (so requests spread over the workers). */
function get(port: number, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: new Agent({ keepAlive: false }), timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

void test('With 2 workers, 60 concurrent misses of one key make one origin fetch, all get the same bytes, and each worker reads the blob at most once (hot-body cache)', { timeout: 60_000 }, async (t) => {
  const origin = await startOrigin(t)
  const body = Buffer.alloc(300 * 1024, 7)
  origin.setRoute('/herd.bin', { mode: 'slow', body, chunkSize: 64 * 1024, delayMs: 100 })
  const { port, proc } = await serveCli(t, await dataDir(t), ['--workers', '2', '--mirror-allow-private', '--admin-port', '0'])
  const adminPort = Number((await proc.waitFor(/admin \(metrics, health\) on http:\/\/127\.0\.0\.1:(\d+)/))[1])
  await mirrorBucket({ port }, 'herd', [{ url: origin.url }], 'public-read')
  const results = await Promise.all(Array.from({ length: 60 }, () => get(port, '/herd/herd.bin')))
  for (const r of results) {
    assert.equal(r.status, 200)
    assert.ok(r.body.equals(body))
  }
  assert.equal(origin.hits('/herd.bin'), 1)
  // Served once committed (under the verify limit), in both workers through their hot-body caches.
  const metrics = (await get(adminPort, '/metrics')).body.toString('utf8')
  const reads = (outcome: string): number => metric(metrics, 'mirrorstore_store_hot_reads_total', { outcome })
  assert.ok(reads('loaded') >= 1 && reads('loaded') <= 2, `loaded ${String(reads('loaded'))}`)
  assert.equal(reads('loaded') + reads('joined') + reads('hit'), 60)
  assert.equal(reads('bypassed'), 0)
})

void test('With 2 workers the mirror QPS budget is shared: a burst of distinct misses over it is partly rejected', { timeout: 60_000 }, async (t) => {
  const origin = await startOrigin(t)
  for (let i = 0; i < 12; i++) origin.setRoute(`/q${i}`, { mode: 'delay-headers', ms: 300 })
  const { port } = await serveCli(t, await dataDir(t), ['--workers', '2', '--mirror-allow-private', '--mirror-qps', '3'])
  await mirrorBucket({ port }, 'qos', [{ url: origin.url }], 'public-read')
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => get(port, `/qos/q${i}`)))
  const served = results.filter((r) => r.status === 200).length
  const rejected = results.filter((r) => r.status === 424 && r.body.toString().includes('Mirror request is rejected by QoS.')).length
  assert.equal(served + rejected, 12)
  // One shared bucket of 3 tokens (plus what refills during the burst); two per-worker buckets would admit 6 or more.
  assert.ok(served >= 3 && served <= 5, `served ${served}`)
})
