import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { MIRROR_FAILURE_MESSAGES, OSS_EC, OSS_ERRORS, OSS_MESSAGES } from '../../src/api/errors.js'
import { MIRROR_EC } from '../../src/mirror/failures.js'

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')

/** Rows `| a | b | c |` of the section headed `## <title>`. */
function rows(title: string): string[][] {
  const start = doc.indexOf(`## ${title}`)
  assert.notEqual(start, -1, `docs/errors.md has a "${title}" section`)
  const end = doc.indexOf('\n## ', start + 3)
  return doc
    .slice(start, end === -1 ? undefined : end)
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !/^\| (Code|Key|Reason|Name) \|/.test(l))
    .map((l) =>
      l
        .slice(2, -2)
        .split(/ (?<!\\)\| /)
        .map((c) => c.replace(/\\\|/g, '|')),
    )
}

void test('docs/errors.md lists exactly the codes, statuses and messages of the error table', () => {
  const documented = rows('Codes').map(([code, status, message]) => [code, Number(status), message])
  const table = Object.entries(OSS_ERRORS).map(([code, spec]) => [code, spec.status, spec.message])
  assert.deepEqual(documented, table)
})

void test('docs/errors.md lists exactly the variant messages, MirrorFailed messages and EC values', () => {
  assert.deepEqual(rows('Other messages under a code'), Object.entries(OSS_MESSAGES).map(([k, v]) => [k, v.code, v.message]))
  assert.deepEqual(rows('MirrorFailed (424) messages'), Object.entries(MIRROR_FAILURE_MESSAGES))
  assert.deepEqual(rows('EC values'), Object.entries(OSS_EC))
})

void test('MirrorFailed messages are the eight OSS texts byte for byte, each ending in a period', () => {
  assert.deepEqual(Object.values(MIRROR_FAILURE_MESSAGES), [
    'Mirroring failed, please check your mirror configuration.',
    'Read body from mirror host failed, please check your mirror host.',
    'Bytes read is not equal to expected.',
    'MD5 in header() is not equal to MD5 calculated.',
    'The object you specified already exists and can not be overwritten.',
    'The object you specified is immutable.',
    'Meta is too large.',
    'Mirror request is rejected by QoS.',
  ])
})

void test('Mirror ECs used by the engine are the documented OSS ECs', () => {
  assert.equal(MIRROR_EC.status, OSS_EC.MirrorStatus)
  assert.equal(MIRROR_EC.badRange, OSS_EC.MirrorBadRange)
  assert.equal(MIRROR_EC.unreachable, OSS_EC.MirrorUnreachable)
  assert.equal(MIRROR_EC.dns, OSS_EC.MirrorDns)
  assert.equal(MIRROR_EC.privateAddress, OSS_EC.MirrorPrivate)
})

void test('Every status in the error table is a 4xx or 5xx', () => {
  for (const [code, spec] of Object.entries(OSS_ERRORS)) assert.ok(spec.status >= 400 && spec.status < 600, code)
})
