import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_BODY_BYTES, RowCache } from '../../src/store/embedded/row-cache.js'

const KiB = 1024

void test('RowCache keeps entries while the version is unchanged and empties on a new one', async () => {
  const cache = new RowCache<string, string>()
  cache.validate(() => 1)
  cache.setBucket('b', 'bucket')
  cache.setObject('b', 'k', 'object', 10)
  // The version is read once per synchronous run: let this one end.
  await Promise.resolve()
  cache.validate(() => 1)
  assert.equal(cache.bucket('b'), 'bucket')
  assert.equal(cache.object('b', 'k'), 'object')
  await Promise.resolve()
  cache.validate(() => 2)
  assert.equal(cache.bucket('b'), undefined)
  assert.equal(cache.object('b', 'k'), undefined)
  assert.equal(cache.heldBodyBytes, 0)
})

void test('RowCache caps the body bytes its records carry; when full it admits one new entry in eight, dropping the oldest', () => {
  const cache = new RowCache<string, string>()
  cache.validate(() => 1)
  const each = 64 * KiB
  const fit = MAX_BODY_BYTES / each
  for (let i = 0; i < fit + 10; i++) cache.setObject('b', `k${String(i)}`, `v${String(i)}`, each)
  assert.equal(cache.heldBodyBytes, MAX_BODY_BYTES)
  // Of the ten that came when it was full, only the eighth got in, in place of the oldest.
  const over = Array.from({ length: 10 }, (_, i) => cache.object('b', `k${String(fit + i)}`))
  assert.deepEqual(over, over.map((_, i) => (i === 7 ? `v${String(fit + 7)}` : undefined)))
  assert.equal(cache.object('b', 'k0'), undefined)
  assert.equal(cache.object('b', 'k1'), 'v1')
  // Replacing an entry is always admitted and counts its bytes once.
  cache.setObject('b', 'k1', 'again', each)
  assert.equal(cache.heldBodyBytes, MAX_BODY_BYTES)
  assert.equal(cache.object('b', 'k1'), 'again')
  // A body over the whole cap is not kept at all.
  cache.setObject('b', 'huge', 'x', MAX_BODY_BYTES + 1)
  assert.equal(cache.object('b', 'huge'), undefined)
})

void test('RowCache keeps most of its entries for traffic cycling over more keys than fit', async () => {
  const cache = new RowCache<string, string>()
  cache.validate(() => 1)
  const keys = 5000
  let hits = 0
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < keys; i++) {
      const k = `k${String(i)}`
      if (cache.object('b', k) !== undefined) hits++
      else cache.setObject('b', k, k)
    }
    await Promise.resolve()
  }
  // Evicting the oldest on every miss would never hit: each key would be gone by its next turn.
  assert.ok(hits > 0.6 * 3 * keys, `hits ${String(hits)}`)
})

void test('RowCache reads the version once per synchronous run, and again after a local commit', async () => {
  const cache = new RowCache<string, string>()
  let asked = 0
  const read = (): number => ++asked
  cache.validate(read)
  cache.validate(read)
  assert.equal(asked, 1)
  cache.committed()
  cache.validate(read)
  assert.equal(asked, 2)
  await Promise.resolve()
  cache.validate(read)
  assert.equal(asked, 3)
})
