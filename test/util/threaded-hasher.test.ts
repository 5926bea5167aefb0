import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { crc64 } from '../../src/util/crc64.js'
import { hashThreadId, inlineHasher, startHashThread, threadedHasher } from '../../src/util/threaded-hasher.js'

void test('threadedHasher and inlineHasher give the MD5 and CRC-64 of the whole body, chunk by chunk', async () => {
  const chunks = Array.from({ length: 40 }, (_, i) => randomBytes(1 + ((i * 7919) % 300_000)))
  const whole = Buffer.concat(chunks)
  for (const make of [threadedHasher, inlineHasher]) {
    const hasher = make()
    for (const c of chunks) {
      hasher.update(c)
      await hasher.drained()
    }
    const { md5, crc64: crc } = await hasher.digest()
    assert.deepEqual(md5, createHash('md5').update(whole).digest())
    assert.equal(crc, crc64(whole))
  }
})

void test('threadedHasher keeps concurrent bodies apart, waits in drained() while its shared slots are full, and forgets a disposed body', async () => {
  const a = threadedHasher()
  const b = threadedHasher()
  const big = randomBytes(4 * 1024 * 1024)
  for (let i = 0; i < 4; i++) {
    a.update(big)
    b.update(big.subarray(0, 1000))
  }
  // 16 MiB queued for `a`, more than the slots hold: drained() waits until the thread has caught up.
  await a.drained()
  const [da, db] = await Promise.all([a.digest(), b.digest()])
  assert.deepEqual(da.md5, createHash('md5').update(Buffer.concat([big, big, big, big])).digest())
  const small = big.subarray(0, 1000)
  assert.deepEqual(db.md5, createHash('md5').update(Buffer.concat([small, small, small, small])).digest())
  const dropped = threadedHasher()
  dropped.update(big)
  dropped.dispose()
  await assert.rejects(dropped.digest())
})

void test('startHashThread boots the one hash thread that then serves consecutive and concurrent bodies, each with its own MD5 and CRC-64', async () => {
  startHashThread()
  const thread = hashThreadId()
  assert.notEqual(thread, undefined)
  const hashAll = async (chunks: readonly Buffer[]): Promise<void> => {
    const hasher = threadedHasher()
    for (const c of chunks) {
      hasher.update(c)
      await hasher.drained()
    }
    const { md5, crc64: crc } = await hasher.digest()
    const whole = Buffer.concat(chunks)
    assert.deepEqual(md5, createHash('md5').update(whole).digest())
    assert.equal(crc, crc64(whole))
  }
  const body = (seed: number): Buffer[] => Array.from({ length: 12 }, (_, i) => randomBytes(1 + ((i * 104_729 + seed * 7_919) % 1_500_000)))
  for (let i = 0; i < 3; i++) await hashAll(body(i))
  await Promise.all([3, 4, 5, 6].map((seed) => hashAll(body(seed))))
  assert.equal(hashThreadId(), thread, 'no new thread for later bodies')
})
