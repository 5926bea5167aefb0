import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { Crc64, crc64, crc64Combine } from '../../src/util/crc64.js'

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1')

/** Bit-at-a-time reference with bigint, independent of the tables. */
function referenceCrc64(buf: Uint8Array): bigint {
  const poly = 0xc96c5795d7870f42n
  let reg = 0xffffffffffffffffn
  for (const byte of buf) {
    reg ^= BigInt(byte)
    for (let k = 0; k < 8; k++) reg = (reg & 1n) !== 0n ? (reg >> 1n) ^ poly : reg >> 1n
  }
  return reg ^ 0xffffffffffffffffn
}

void test('crc64 of "123456789" is the CRC-64/XZ check value 11051210869376104954', () => {
  assert.equal(crc64(ascii('123456789')), 0x995dc9bbdf1939fan)
  assert.equal(crc64(ascii('123456789')).toString(), '11051210869376104954')
})

void test('crc64 matches the oss-api.md §9 values for "", hello, foo and foobar', () => {
  assert.equal(crc64(ascii('')), 0n)
  assert.equal(crc64(ascii('hello')).toString(), '11177612005948864433')
  assert.equal(crc64(ascii('foo')).toString(), '10965392271467943256')
  assert.equal(crc64(ascii('foobar')).toString(), '6001682485122215966')
})

void test('crc64 of "12345" and "6789" matches the oss-api.md §9 multipart example', () => {
  assert.equal(crc64(ascii('12345')).toString(), '6748440630437108969')
  assert.equal(crc64(ascii('6789')).toString(), '10278880121275185425')
})

void test('crc64Combine of crc("12345") and crc("6789") with length 4 gives crc("123456789")', () => {
  assert.equal(crc64Combine(6748440630437108969n, 10278880121275185425n, 4).toString(), '11051210869376104954')
})

void test('crc64Combine with zero length returns the first CRC unchanged', () => {
  assert.equal(crc64Combine(12345n, 0n, 0), 12345n)
})

void test('Crc64 continued from a previous CRC equals the CRC of the concatenation (foo then bar)', () => {
  const previous = crc64(ascii('foo'))
  assert.equal(new Crc64(previous).update(ascii('bar')).digest(), crc64(ascii('foobar')))
})

void test('Crc64 gives the same digest however the input is split into updates', () => {
  const buf = randomBytes(1000)
  const whole = crc64(buf)
  for (const cut of [0, 1, 7, 8, 9, 15, 16, 17, 500, 999, 1000]) {
    const split = new Crc64().update(buf.subarray(0, cut)).update(buf.subarray(cut)).digest()
    assert.equal(split, whole, `cut at ${cut}`)
  }
})

void test('crc64 agrees with a bit-at-a-time reference on arbitrary byte arrays', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      assert.equal(crc64(bytes), referenceCrc64(bytes))
    }),
    { numRuns: 300 },
  )
})

void test('crc64Combine over arbitrary splits equals the CRC of the whole buffer', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), (bytes, at) => {
      const cut = bytes.length === 0 ? 0 : at % (bytes.length + 1)
      const a = bytes.subarray(0, cut)
      const b = bytes.subarray(cut)
      assert.equal(crc64Combine(crc64(a), crc64(b), b.length), crc64(bytes))
    }),
    { numRuns: 300 },
  )
})

void test('crc64Combine handles lengths beyond 2^32 bytes consistently with repeated combining', () => {
  // combine(x, 0, 2^33) must equal combining 0-CRC zero blocks step by step: shift by 2^32 twice.
  const crcA = crc64(ascii('abc'))
  const big = 2 ** 33
  const once = crc64Combine(crcA, 0n, big)
  const twice = crc64Combine(crc64Combine(crcA, 0n, 2 ** 32), 0n, 2 ** 32)
  assert.equal(once, twice)
})

void test('crc64 of 1 KiB and more (the WebAssembly loop) equals the reference and the JavaScript loop, across 64 KiB windows and odd offsets', () => {
  const data = randomBytes(3 * 64 * 1024 + 4099)
  // Pieces under 1 KiB take the JavaScript loop: the whole must come out the same.
  const byJs = (buf: Uint8Array): bigint => {
    const c = new Crc64()
    for (let i = 0; i < buf.length; i += 1000) c.update(buf.subarray(i, i + 1000))
    return c.digest()
  }
  for (const [start, len] of [[0, 1024], [3, 1025], [1, 65536], [5, 65536 + 9], [0, data.length], [17, 2 * 65536 + 333]] as const) {
    const piece = data.subarray(start, start + len)
    assert.equal(crc64(piece), byJs(piece), `start ${String(start)} length ${String(len)}`)
  }
  const mid = data.subarray(7, 7 + 70_001)
  assert.equal(crc64(mid), referenceCrc64(mid))
  // Continuing after JavaScript-sized updates, and a continued CRC (AppendObject).
  const c = new Crc64().update(data.subarray(0, 10)).update(data.subarray(10, 5000)).update(data.subarray(5000, 5500))
  assert.equal(c.digest(), crc64(data.subarray(0, 5500)))
  assert.equal(new Crc64(crc64(data.subarray(0, 3000))).update(data.subarray(3000, 90_000)).digest(), crc64(data.subarray(0, 90_000)))
})
