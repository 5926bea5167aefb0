import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MirrorQos } from '../../src/mirror/qos.js'

void test('MirrorQos admits a burst up to the per-second limit at once, then refills over time', () => {
  let now = 0
  const qos = new MirrorQos({ qps: 3, bandwidthBitsPerSecond: 0 }, () => now)
  assert.deepEqual([qos.admit(), qos.admit(), qos.admit(), qos.admit()], [true, true, true, false])
  now += 340
  assert.equal(qos.admit(), true)
  assert.equal(qos.admit(), false)
  now += 10_000
  // The bucket holds at most one second of budget.
  assert.deepEqual([qos.admit(), qos.admit(), qos.admit(), qos.admit()], [true, true, true, false])
})

void test('MirrorQos refuses new fills while the byte budget is in debt, and never limits with 0', () => {
  let now = 0
  const qos = new MirrorQos({ qps: 0, bandwidthBitsPerSecond: 8000 }, () => now)
  assert.equal(qos.admit(), true)
  qos.consume(3000)
  assert.equal(qos.admit(), false)
  now += 2000
  assert.equal(qos.admit(), true)
  const open = new MirrorQos({ qps: 0, bandwidthBitsPerSecond: 0 }, () => now)
  for (let i = 0; i < 10_000; i++) assert.equal(open.admit(), true)
  open.consume(1e12)
  assert.equal(open.admit(), true)
})
