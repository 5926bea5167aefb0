import assert from 'node:assert/strict'
import { test } from 'node:test'
import { POOL_CHUNK, giveBack, isPooled, takeChunk } from '../../src/util/chunk-pool.js'

void test('chunk pool: a buffer given back (whole or as a view) is handed out again, once', () => {
  const a = takeChunk()
  assert.equal(a.length, POOL_CHUNK)
  assert.equal(a.byteOffset, 0)
  assert.equal(isPooled(a.subarray(0, 10)), true)
  assert.equal(isPooled(Buffer.alloc(POOL_CHUNK)), false)
  // A view of part of it gives the whole buffer back; giving it back twice must not duplicate it.
  giveBack(a.subarray(0, 100))
  giveBack(a)
  const b = takeChunk()
  assert.equal(b.buffer, a.buffer)
  assert.equal(b.length, POOL_CHUNK)
  const c = takeChunk()
  assert.notEqual(c.buffer, a.buffer)
  // A buffer that is not pooled is ignored.
  giveBack(Buffer.alloc(POOL_CHUNK))
  const d = takeChunk()
  assert.equal(isPooled(d), true)
  assert.notEqual(d.buffer, a.buffer)
  assert.notEqual(d.buffer, c.buffer)
})

void test('chunk pool: free buffers not taken for a while are dropped', async () => {
  const a = takeChunk()
  giveBack(a)
  // The first idle check may still see the take above; the second drops the free buffers.
  await new Promise((r) => setTimeout(r, 2300))
  const b = takeChunk()
  assert.notEqual(b.buffer, a.buffer)
})
