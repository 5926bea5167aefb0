import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MIRROR_FAILURE_MESSAGES, OSS_EC } from '../../src/api/errors.js'
import { MIRROR_EC, MIRROR_FAILURE_REASONS, MirrorFailure, isMirrorFailure } from '../../src/mirror/failures.js'

void test('The message table has one message per mirror failure reason, in B6 order', () => {
  assert.deepEqual(Object.keys(MIRROR_FAILURE_MESSAGES), [...MIRROR_FAILURE_REASONS])
})

void test('MIRROR_EC values equal the error table ECs', () => {
  assert.deepEqual(MIRROR_EC, {
    status: OSS_EC.MirrorStatus,
    badRange: OSS_EC.MirrorBadRange,
    unreachable: OSS_EC.MirrorUnreachable,
    dns: OSS_EC.MirrorDns,
    privateAddress: OSS_EC.MirrorPrivate,
  })
})

void test('MirrorFailure carries reason, EC, status and cause', () => {
  const cause = new Error('ECONNREFUSED')
  const failure = new MirrorFailure('config_failed', 'origin refused', { ec: MIRROR_EC.unreachable, cause, status: 502 })
  assert.equal(failure.reason, 'config_failed')
  assert.equal(failure.ec, '0041-00000104')
  assert.equal(failure.status, 502)
  assert.equal(failure.cause, cause)
  assert.equal(isMirrorFailure(failure, 'config_failed'), true)
  assert.equal(isMirrorFailure(failure, 'bytes_mismatch'), false)
  assert.equal(new MirrorFailure('bytes_mismatch', 'short').ec, undefined)
})
