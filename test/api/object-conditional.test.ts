/**
 * GetObject/HeadObject conditionals (oss-api.md §8.4, whole seconds, precedence), Range in the
 * default and standard behaviours (§8.5), and CopyObject source conditions (§5).
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { xmlField, type RawResponse } from '../support/raw.js'
import { call, etagOf } from '../support/object-http.js'
import { ossClient } from '../support/oss-client.js'
import { startTestServer, type TestServer } from '../support/server.js'

const B = 'cond-bkt'
const BODY = '0123456789'
const ETAG = etagOf(BODY)
const LONG_AGO = 'Mon, 01 Jan 2001 00:00:00 GMT'
const FAR_FUTURE = 'Fri, 01 Jan 2100 00:00:00 GMT'

type Hooks = Parameters<typeof startTestServer>[0]

function header(res: RawResponse, name: string): string | undefined {
  const v = res.headers[name]
  return Array.isArray(v) ? v.join(', ') : v
}

/** A server holding `obj` = "0123456789"; `date` is the PUT response's Date header. */
async function withObject(t: Hooks): Promise<{ server: TestServer; date: string }> {
  const server = await startTestServer(t)
  assert.equal((await call(server, 'PUT', B, undefined)).status, 200)
  const put = await call(server, 'PUT', B, 'obj', { body: BODY })
  assert.equal(put.status, 200)
  return { server, date: header(put, 'date') ?? '' }
}

// ── Conditionals ─────────────────────────────────────────────────────────────────────────────

void describe('GetObject and HeadObject conditionals', () => {
  for (const method of ['GET', 'HEAD'] as const) {
    void test(`${method} with a matching If-Match answers 200, quoted or not, in a list or as *`, async (t) => {
      const { server } = await withObject(t)
      for (const value of [ETAG, ETAG.slice(1, -1), ETAG.toLowerCase(), `"00000000000000000000000000000000", ${ETAG}`, '*']) {
        const res = await call(server, method, B, 'obj', { headers: { 'if-match': value } })
        assert.equal(res.status, 200, value)
      }
    })

    void test(`${method} with a different If-Match answers 412 PreconditionFailed naming If-Match`, async (t) => {
      const { server } = await withObject(t)
      const res = await call(server, method, B, 'obj', { headers: { 'if-match': '"00000000000000000000000000000000"' } })
      assert.equal(res.status, 412)
      const xml = method === 'GET' ? res.text : Buffer.from(header(res, 'x-oss-err') ?? '', 'base64').toString()
      assert.equal(xmlField(xml, 'Code'), 'PreconditionFailed')
      assert.equal(xmlField(xml, 'Message'), 'At least one of the pre-conditions you specified did not hold.')
      assert.equal(xmlField(xml, 'Condition'), 'If-Match')
    })

    void test(`${method} with a matching If-None-Match answers 304 with ETag and Last-Modified and no body`, async (t) => {
      const { server } = await withObject(t)
      const res = await call(server, method, B, 'obj', { headers: { 'if-none-match': ETAG } })
      assert.equal(res.status, 304)
      assert.equal(res.body.length, 0)
      assert.equal(header(res, 'etag'), ETAG)
      assert.ok(header(res, 'last-modified') !== undefined)
      const other = await call(server, method, B, 'obj', { headers: { 'if-none-match': '"00000000000000000000000000000000"' } })
      assert.equal(other.status, 200)
    })

    void test(`${method} If-Modified-Since: the PUT response Date gives 304, a date long before gives 200`, async (t) => {
      const { server, date } = await withObject(t)
      assert.equal((await call(server, method, B, 'obj', { headers: { 'if-modified-since': date } })).status, 304)
      assert.equal((await call(server, method, B, 'obj', { headers: { 'if-modified-since': FAR_FUTURE } })).status, 304)
      assert.equal((await call(server, method, B, 'obj', { headers: { 'if-modified-since': LONG_AGO } })).status, 200)
    })

    void test(`${method} If-Unmodified-Since: the PUT response Date gives 200, a date long before gives 412`, async (t) => {
      const { server, date } = await withObject(t)
      assert.equal((await call(server, method, B, 'obj', { headers: { 'if-unmodified-since': date } })).status, 200)
      const failed = await call(server, method, B, 'obj', { headers: { 'if-unmodified-since': LONG_AGO } })
      assert.equal(failed.status, 412)
      const xml = method === 'GET' ? failed.text : Buffer.from(header(failed, 'x-oss-err') ?? '', 'base64').toString()
      assert.equal(xmlField(xml, 'Condition'), 'If-Unmodified-Since')
    })
  }

  void test('the object Last-Modified, at whole seconds, is no later than the PUT response Date', async (t) => {
    const { server, date } = await withObject(t)
    const lastModified = header(await call(server, 'HEAD', B, 'obj'), 'last-modified') ?? ''
    assert.ok(Date.parse(lastModified) <= Date.parse(date), `${lastModified} > ${date}`)
    assert.equal((await call(server, 'GET', B, 'obj', { headers: { 'if-modified-since': lastModified } })).status, 304)
    assert.equal((await call(server, 'GET', B, 'obj', { headers: { 'if-unmodified-since': lastModified } })).status, 200)
  })

  void test('an unparseable If-Modified-Since or If-Unmodified-Since is ignored', async (t) => {
    const { server } = await withObject(t)
    for (const name of ['if-modified-since', 'if-unmodified-since']) {
      const res = await call(server, 'GET', B, 'obj', { headers: { [name]: 'not a date' } })
      assert.equal(res.status, 200, name)
      assert.equal(res.text, BODY)
    }
  })

  void test('precedence: If-Match before If-Unmodified-Since, If-None-Match before If-Modified-Since, 412 before 304', async (t) => {
    const { server } = await withObject(t)
    const status = async (headers: Record<string, string>): Promise<number> => (await call(server, 'GET', B, 'obj', { headers })).status
    // A passing If-Match makes If-Unmodified-Since irrelevant.
    assert.equal(await status({ 'if-match': ETAG, 'if-unmodified-since': LONG_AGO }), 200)
    // A present If-None-Match (not matching) makes If-Modified-Since irrelevant.
    assert.equal(await status({ 'if-none-match': '"00000000000000000000000000000000"', 'if-modified-since': FAR_FUTURE }), 200)
    assert.equal(await status({ 'if-match': '"00000000000000000000000000000000"', 'if-none-match': ETAG }), 412)
    assert.equal(await status({ 'if-unmodified-since': LONG_AGO, 'if-modified-since': FAR_FUTURE }), 412)
    assert.equal(await status({ 'if-match': ETAG, 'if-none-match': ETAG }), 304)
  })

  void test('conditionals are decided before Range: 304 and 412 win over a partial or unsatisfiable range', async (t) => {
    const { server } = await withObject(t)
    const notModified = await call(server, 'GET', B, 'obj', { headers: { 'if-none-match': ETAG, range: 'bytes=0-1' } })
    assert.equal(notModified.status, 304)
    assert.equal(header(notModified, 'content-range'), undefined)
    const failed = await call(server, 'GET', B, 'obj', { headers: { 'if-match': '"x"', range: 'bytes=50-', 'x-oss-range-behavior': 'standard' } })
    assert.equal(failed.status, 412)
    const partial = await call(server, 'GET', B, 'obj', { headers: { 'if-match': ETAG, range: 'bytes=0-1' } })
    assert.equal(partial.status, 206)
    assert.equal(partial.text, '01')
  })

  void test('ali-oss get and head with If-Modified-Since set to the PUT response Date answer 304', async (t) => {
    const server = await startTestServer(t)
    for (const v4 of [false, true]) {
      const bucket = v4 ? 'cond-v4' : 'cond-v1'
      await ossClient(server, { v4 }).putBucket(bucket)
      const client = ossClient(server, { v4, bucket })
      const put = await client.put('obj', Buffer.from(BODY))
      const date = (put.res.headers as Record<string, string>).date ?? ''
      const got = await client.get('obj', undefined, { headers: { 'If-Modified-Since': date } })
      assert.equal(got.res.status, 304)
      const head = await client.head('obj', { headers: { 'If-Modified-Since': date } })
      assert.equal(head.status, 304)
      const fresh = await client.get('obj', undefined, { headers: { 'If-Unmodified-Since': date } })
      assert.equal(fresh.res.status, 200)
    }
  })
})

// ── Range ────────────────────────────────────────────────────────────────────────────────────

type Expect = { status: 200 } | { status: 206; range: string; body: string } | { status: 416 }

/** oss-api.md §8.5 on a 10-byte object, plus neighbouring cases. */
const RANGE_CASES: ReadonlyArray<readonly [string, Expect, Expect]> = [
  ['bytes=0-9', { status: 206, range: '0-9/10', body: BODY }, { status: 206, range: '0-9/10', body: BODY }],
  ['bytes=5-15', { status: 200 }, { status: 206, range: '5-9/10', body: '56789' }],
  ['bytes=15-25', { status: 200 }, { status: 416 }],
  ['bytes=-3', { status: 206, range: '7-9/10', body: '789' }, { status: 206, range: '7-9/10', body: '789' }],
  ['bytes=3-', { status: 206, range: '3-9/10', body: '3456789' }, { status: 206, range: '3-9/10', body: '3456789' }],
  ['bytes=0-0', { status: 206, range: '0-0/10', body: '0' }, { status: 206, range: '0-0/10', body: '0' }],
  ['bytes=9-9', { status: 206, range: '9-9/10', body: '9' }, { status: 206, range: '9-9/10', body: '9' }],
  ['bytes=4-9', { status: 206, range: '4-9/10', body: '456789' }, { status: 206, range: '4-9/10', body: '456789' }],
  ['bytes=10-', { status: 200 }, { status: 416 }],
  ['bytes=0-10', { status: 200 }, { status: 206, range: '0-9/10', body: BODY }],
  ['bytes=5-2', { status: 200 }, { status: 200 }],
  ['bytes=0-1,3-4', { status: 200 }, { status: 200 }],
  ['bytes=a-b', { status: 200 }, { status: 200 }],
  ['items=0-1', { status: 200 }, { status: 200 }],
]

void describe('GetObject Range', () => {
  for (const [behaviour, pick] of [
    ['default', (c: (typeof RANGE_CASES)[number]) => c[1]],
    ['standard', (c: (typeof RANGE_CASES)[number]) => c[2]],
  ] as const) {
    void test(`Range in ${behaviour} behaviour follows the oss-api.md §8.5 table`, async (t) => {
      const { server } = await withObject(t)
      for (const c of RANGE_CASES) {
        const headers: Record<string, string> = { range: c[0] }
        if (behaviour === 'standard') headers['x-oss-range-behavior'] = 'standard'
        const res = await call(server, 'GET', B, 'obj', { headers })
        const expected = pick(c)
        const what = `${behaviour} ${c[0]}`
        assert.equal(res.status, expected.status, what)
        if (expected.status === 200) {
          assert.equal(res.text, BODY, what)
          assert.equal(header(res, 'content-range'), undefined, what)
          assert.equal(header(res, 'content-length'), '10', what)
        } else if (expected.status === 206) {
          assert.equal(res.text, expected.body, what)
          assert.equal(header(res, 'content-range'), `bytes ${expected.range}`, what)
          assert.equal(header(res, 'content-length'), String(expected.body.length), what)
          assert.equal(header(res, 'etag'), ETAG, what)
        } else {
          assert.equal(xmlField(res.text, 'Code'), 'InvalidRange', what)
          assert.equal(xmlField(res.text, 'Message'), 'The requested range cannot be satisfied.', what)
          assert.equal(header(res, 'content-range'), 'bytes */10', what)
        }
      }
    })
  }

  void test('a Range on an empty object answers 200 by default and 416 in standard behaviour', async (t) => {
    const server = await startTestServer(t)
    await call(server, 'PUT', B, undefined)
    await call(server, 'PUT', B, 'empty', { body: '' })
    const whole = await call(server, 'GET', B, 'empty', { headers: { range: 'bytes=0-0' } })
    assert.equal(whole.status, 200)
    assert.equal(whole.body.length, 0)
    const standard = await call(server, 'GET', B, 'empty', { headers: { range: 'bytes=0-0', 'x-oss-range-behavior': 'standard' } })
    assert.equal(standard.status, 416)
    assert.equal(header(standard, 'content-range'), 'bytes */0')
  })

  void test('a Range spanning the segments of an appended object returns the right bytes', async (t) => {
    const server = await startTestServer(t)
    await call(server, 'PUT', B, undefined)
    let position = 0
    for (const piece of ['abc', 'defg', 'hij']) {
      await call(server, 'POST', B, 'log', { query: { append: '', position: String(position) }, body: piece })
      position += piece.length
    }
    for (const [range, body] of [['bytes=2-7', 'cdefgh'], ['bytes=3-6', 'defg'], ['bytes=-4', 'ghij']] as const) {
      const res = await call(server, 'GET', B, 'log', { headers: { range } })
      assert.equal(res.status, 206, range)
      assert.equal(res.text, body, range)
    }
  })
})

// ── CopyObject source conditions ─────────────────────────────────────────────────────────────

void describe('CopyObject source conditions', () => {
  async function copy(server: TestServer, headers: Record<string, string>): Promise<RawResponse> {
    return call(server, 'PUT', B, 'dst', { headers: { 'x-oss-copy-source': `/${B}/obj`, ...headers } })
  }

  void test('x-oss-copy-source-if-match and -if-unmodified-since that fail answer 412 and copy nothing', async (t) => {
    const { server } = await withObject(t)
    for (const [name, value, condition] of [
      ['x-oss-copy-source-if-match', '"00000000000000000000000000000000"', 'If-Match'],
      ['x-oss-copy-source-if-unmodified-since', LONG_AGO, 'If-Unmodified-Since'],
    ] as const) {
      const res = await copy(server, { [name]: value })
      assert.equal(res.status, 412, name)
      assert.equal(xmlField(res.text, 'Code'), 'PreconditionFailed')
      assert.equal(xmlField(res.text, 'Condition'), condition)
    }
    assert.equal((await call(server, 'HEAD', B, 'dst')).status, 404)
  })

  void test('x-oss-copy-source-if-none-match and -if-modified-since that fail answer 304 with an empty body and copy nothing', async (t) => {
    const { server, date } = await withObject(t)
    for (const [name, value] of [
      ['x-oss-copy-source-if-none-match', ETAG],
      ['x-oss-copy-source-if-modified-since', date],
      ['x-oss-copy-source-if-modified-since', FAR_FUTURE],
    ] as const) {
      const res = await copy(server, { [name]: value })
      assert.equal(res.status, 304, `${name}: ${value}`)
      assert.equal(res.body.length, 0)
    }
    assert.equal((await call(server, 'HEAD', B, 'dst')).status, 404)
  })

  void test('source conditions that hold let the copy proceed', async (t) => {
    const { server, date } = await withObject(t)
    const res = await copy(server, {
      'x-oss-copy-source-if-match': ETAG,
      'x-oss-copy-source-if-unmodified-since': date,
      'x-oss-copy-source-if-none-match': '"00000000000000000000000000000000"',
    })
    assert.equal(res.status, 200)
    assert.equal((await call(server, 'GET', B, 'dst')).text, BODY)
    const res2 = await copy(server, { 'x-oss-copy-source-if-modified-since': LONG_AGO })
    assert.equal(res2.status, 200)
  })

  void test('plain If-* headers apply to the source when the prefixed form is absent, and the prefixed form wins', async (t) => {
    const { server } = await withObject(t)
    assert.equal((await copy(server, { 'if-match': '"00000000000000000000000000000000"' })).status, 412)
    assert.equal((await copy(server, { 'if-none-match': ETAG })).status, 304)
    assert.equal((await copy(server, { 'x-oss-copy-source-if-match': ETAG, 'if-match': '"00000000000000000000000000000000"' })).status, 200)
  })

  void test('plain If-None-Match is never checked against the destination', async (t) => {
    const { server } = await withObject(t)
    const dst = await call(server, 'PUT', B, 'dst', { body: 'existing destination' })
    const res = await copy(server, { 'if-none-match': header(dst, 'etag') ?? '' })
    assert.equal(res.status, 200)
    assert.equal((await call(server, 'GET', B, 'dst')).text, BODY)
  })
})

void test('objects made by AppendObject and CopyObject answer 304 to If-Modified-Since set to their response Date', async (t) => {
  const { server } = await withObject(t)
  const append = await call(server, 'POST', B, 'log', { query: { append: '', position: '0' }, body: 'abc' })
  const copy = await call(server, 'PUT', B, 'copy', { headers: { 'x-oss-copy-source': `/${B}/obj` } })
  for (const [key, res] of [['log', append], ['copy', copy]] as const) {
    assert.equal(res.status, 200)
    const date = header(res, 'date') ?? ''
    assert.equal((await call(server, 'GET', B, key, { headers: { 'if-modified-since': date } })).status, 304, key)
    assert.equal((await call(server, 'GET', B, key, { headers: { 'if-unmodified-since': date } })).status, 200, key)
  }
})
