import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_BODY_BYTES, RowCache } from '../../src/store/embedded/row-cache.js'

const KiB = 1024

void test('RowCache keeps entries while data_version is unchanged and empties on a new one', async () => {
  const cache = new RowCache<string, string>()
  cache.validate(() => 1)
  cache.setBucket('b', 'bucket')
  cache.setObject('b', 'k', 'object', 10)
  // The database is asked once per synchronous run: let this one end.
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

void test('RowCache caps the body bytes its records carry, dropping the oldest first', () => {
  const cache = new RowCache<string, string>()
  cache.validate(() => 1)
  const each = 64 * KiB
  const n = MAX_BODY_BYTES / each + 10
  for (let i = 0; i < n; i++) cache.setObject('b', `k${String(i)}`, `v${String(i)}`, each)
  assert.equal(cache.heldBodyBytes, MAX_BODY_BYTES)
  for (let i = 0; i < 10; i++) assert.equal(cache.object('b', `k${String(i)}`), undefined)
  assert.equal(cache.object('b', `k${String(n - 1)}`), `v${String(n - 1)}`)
  // Replacing an entry counts its bytes once.
  cache.setObject('b', `k${String(n - 1)}`, 'again', each)
  assert.equal(cache.heldBodyBytes, MAX_BODY_BYTES)
  assert.equal(cache.object('b', `k${String(n - 1)}`), 'again')
  // A body over the whole cap is not kept at all.
  cache.setObject('b', 'huge', 'x', MAX_BODY_BYTES + 1)
  assert.equal(cache.object('b', 'huge'), undefined)
})

void test('RowCache asks for data_version once per synchronous run, and again after a local commit', async () => {
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

void test('RowCache forgets only the named object records after a local commit that names them', () => {
  const cache = new RowCache<string, string>()
  cache.validate(() => 1)
  cache.setBucket('b', 'bucket')
  cache.setObject('b', 'k1', 'one', 10)
  cache.setObject('b', 'k2', 'two', 20)
  cache.setObject('c', 'k1', 'other bucket', 5)
  cache.committed({ bucket: 'b', keys: ['k1'] })
  assert.equal(cache.object('b', 'k1'), undefined)
  assert.equal(cache.object('b', 'k2'), 'two')
  assert.equal(cache.object('c', 'k1'), 'other bucket')
  assert.equal(cache.bucket('b'), 'bucket')
  assert.equal(cache.heldBodyBytes, 25)
  // Without names, everything goes.
  cache.committed()
  assert.equal(cache.bucket('b'), undefined)
  assert.equal(cache.object('b', 'k2'), undefined)
  assert.equal(cache.heldBodyBytes, 0)
})
