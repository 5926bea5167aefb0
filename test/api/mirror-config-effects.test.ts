/**
 * What the acting rule fields do at runtime (mirror-rules.md B1, B3, B4, B5): the trigger and its
 * conditions, the query and headers sent to the origin, redirects, transparent statuses, failover.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { presignV1, presignV4 } from '../../src/auth/sign.js'
import { assertOssError } from '../support/oss-assert.js'
import { refusedPort, startOrigin } from '../support/origin.js'
import { raw, signed } from '../support/raw.js'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET, startTestServer } from '../support/server.js'
import { assertMirrorFailed, assertNotStored, EC, listKeys, mirrorBucket, setRules } from '../support/mirror.js'

function queryOf(url: string | undefined): Array<[string, string]> {
  return [...new URLSearchParams((url ?? '').split('?')[1] ?? '')]
}

void test('MirrorPassQueryString passes the client query to the origin minus OSS signature parameters; without it no query is sent', async (t) => {
  const origin = await startOrigin(t)
  for (const p of ['/pass/v1', '/pass/v4', '/pass/header', '/plain/q', '/legacy/q', '/off/q']) origin.setRoute(p, 'ok')
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'query', [
    { number: 1, prefix: 'pass/', url: origin.url, redirect: '<MirrorPassQueryString>true</MirrorPassQueryString>' },
    { number: 2, prefix: 'legacy/', url: origin.url, redirect: '<PassQueryString>true</PassQueryString>' },
    { number: 3, prefix: 'off/', url: origin.url, redirect: '<PassQueryString>true</PassQueryString><MirrorPassQueryString>false</MirrorPassQueryString>' },
    { number: 4, url: origin.url },
  ])
  const v1 = presignV1({ method: 'GET', bucket: 'query', key: 'pass/v1', expires: Date.now() / 1000 + 600, accessKeyId: ACCESS_KEY_ID, secret: ACCESS_KEY_SECRET })
  assert.equal((await raw(server, { path: `/query/pass/v1?a=1&${v1}&b=two` })).status, 200)
  assert.deepEqual(queryOf(origin.requests('/pass/v1')[0]?.url), [
    ['a', '1'],
    ['b', 'two'],
  ])
  const v4 = presignV4({ method: 'GET', bucket: 'query', key: 'pass/v4', query: { a: '1', b: 'two' }, accessKeyId: ACCESS_KEY_ID, secret: ACCESS_KEY_SECRET, region: 'cn-hangzhou', date: new Date(), expiresSeconds: 600 })
  assert.equal((await raw(server, { path: `/query/pass/v4?${v4}` })).status, 200)
  assert.deepEqual(queryOf(origin.requests('/pass/v4')[0]?.url), [
    ['a', '1'],
    ['b', 'two'],
  ])
  assert.equal((await signed(server, 'GET', 'query', 'pass/header', { query: 'x=%2F1&y' })).status, 200)
  assert.equal(origin.requests('/pass/header')[0]?.url, '/pass/header?x=%2F1&y')
  assert.equal((await signed(server, 'GET', 'query', 'legacy/q', { query: 'x=1' })).status, 200)
  assert.equal(origin.requests('/legacy/q')[0]?.url, '/legacy/q?x=1', 'PassQueryString acts when MirrorPassQueryString is absent')
  for (const key of ['plain/q', 'off/q']) {
    assert.equal((await signed(server, 'GET', 'query', key, { query: 'x=1' })).status, 200)
    assert.equal(origin.requests(`/${key}`)[0]?.url, `/${key}`)
  }
})

void test('MirrorHeaders: no client header by default; PassAll minus Remove, Cookie and reserved names; Pass; Set overrides; never Authorization', async (t) => {
  const origin = await startOrigin(t)
  for (const p of ['/none', '/all', '/pass']) origin.setRoute(p, 'ok')
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'hdrs', [
    {
      number: 1,
      prefix: 'all',
      url: origin.url,
      redirect: '<MirrorHeaders><PassAll>true</PassAll><Remove>bbb-header</Remove><Set><Key>ccc-header</Key><Value>ccc</Value></Set></MirrorHeaders>',
    },
    {
      number: 2,
      prefix: 'pass',
      url: origin.url,
      redirect: '<MirrorHeaders><Pass>aaa-header</Pass><Pass>Authorization</Pass><Pass>x-oss-meta-a</Pass><Set><Key>x-mirror-by</Key><Value>oss</Value></Set></MirrorHeaders>',
    },
    { number: 3, url: origin.url },
  ])
  const clientHeaders = {
    'aaa-header': 'aaa',
    'bbb-header': 'bbb',
    'ccc-header': '111',
    cookie: 'session=1',
    'x-oss-meta-a': 'meta',
    range: 'bytes=0-1',
    'if-none-match': '"abc"',
    'accept-encoding': 'gzip',
  }
  for (const key of ['none', 'all', 'pass']) {
    const res = await signed(server, 'GET', 'hdrs', key, { headers: clientHeaders })
    assert.ok(res.status === 200 || res.status === 206, `${key}: ${res.status}`)
  }
  const sent = (path: string) => origin.requests(path)[0]?.headers ?? {}
  for (const path of ['/none', '/all', '/pass']) {
    const h = sent(path)
    assert.match(String(h['user-agent']), /^Mirrorstore\//)
    assert.equal(h['accept-encoding'], 'identity')
    assert.equal(h.host, `127.0.0.1:${origin.port}`)
    for (const name of ['authorization', 'cookie', 'range', 'if-none-match', 'x-oss-meta-a', 'x-oss-date', 'bbb-header']) assert.equal(h[name], undefined, `${path} got ${name}`)
  }
  assert.equal(sent('/none')['aaa-header'], undefined)
  assert.equal(sent('/none')['ccc-header'], undefined)
  assert.equal(sent('/all')['aaa-header'], 'aaa')
  assert.equal(sent('/all')['ccc-header'], 'ccc')
  assert.equal(sent('/pass')['aaa-header'], 'aaa')
  assert.equal(sent('/pass')['ccc-header'], undefined)
  assert.equal(sent('/pass')['x-mirror-by'], 'oss')
})

void test('MirrorFollowRedirect false answers 302 with the origin Location and stores nothing; followed redirects store the final body', async (t) => {
  const origin = await startOrigin(t)
  origin.setRoute('/nofollow/abs', { mode: 'redirect-to', location: 'http://example.invalid/elsewhere?x=1', status: 301 })
  origin.setRoute('/nofollow/rel', { mode: 'redirect-to', location: '/target' })
  origin.setRoute('/follow/x', { mode: 'redirect-to', location: '/target', status: 307 })
  origin.setRoute('/target', { mode: 'ok', body: 'redirect target' })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, adminPort: '0' })
  await mirrorBucket(server, 'redir', [
    { number: 1, prefix: 'nofollow/', url: origin.url, redirect: '<MirrorFollowRedirect>false</MirrorFollowRedirect>' },
    { number: 2, url: origin.url },
  ])
  const abs = await signed(server, 'GET', 'redir', 'nofollow/abs')
  assert.equal(abs.status, 302)
  assert.equal(abs.headers.location, 'http://example.invalid/elsewhere?x=1')
  assert.ok(typeof abs.headers['x-oss-request-id'] === 'string')
  const rel = await signed(server, 'GET', 'redir', 'nofollow/rel')
  assert.equal(rel.status, 302)
  assert.match(String(rel.headers.location), /\/target$/)
  await assertNotStored(server, 'redir', 'nofollow/abs')
  await assertNotStored(server, 'redir', 'nofollow/rel')
  assert.equal(origin.hits('/target'), 0)
  const followed = await signed(server, 'GET', 'redir', 'follow/x')
  assert.equal(followed.text, 'redirect target')
  assert.deepEqual(await listKeys(server, 'redir'), ['follow/x'])
})

void test('TransparentMirrorResponseCodes passes a listed origin status through with its body and stores nothing; unlisted 404 is a 424', async (t) => {
  const origin = await startOrigin(t)
  origin.setRoute('/t/missing', { mode: 'status', status: 404, body: '<h1>origin 404</h1>', headers: { 'content-type': 'text/html' } })
  origin.setRoute('/t/teapot', { mode: 'status', status: 418, body: 'short and stout' })
  origin.setRoute('/t/huge', { mode: 'status', status: 404, body: Buffer.alloc(1024 * 1024 + 1, 0x7a) })
  origin.setRoute('/u/missing', { mode: 'status', status: 404, body: 'unlisted' })
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'transp', [
    { number: 1, prefix: 't/', url: origin.url, redirect: '<TransparentMirrorResponseCodes>404,418</TransparentMirrorResponseCodes>' },
    { number: 2, url: origin.url },
  ])
  const missing = await signed(server, 'GET', 'transp', 't/missing')
  assert.equal(missing.status, 404)
  assert.equal(missing.text, '<h1>origin 404</h1>')
  assert.equal(missing.headers['content-type'], 'text/html')
  const teapot = await signed(server, 'GET', 'transp', 't/teapot')
  assert.equal(teapot.status, 418)
  assert.equal(teapot.text, 'short and stout')
  assertMirrorFailed(await signed(server, 'GET', 'transp', 't/huge'), 'config_failed')
  assertMirrorFailed(await signed(server, 'GET', 'transp', 'u/missing'), 'config_failed')
  assert.deepEqual(await listKeys(server, 'transp'), [])
  await signed(server, 'GET', 'transp', 't/missing')
  assert.equal(origin.hits('/t/missing'), 2, 'a transparent answer is never cached')
})

void test('MirrorURLSlave is used when the primary answers 5xx or refuses the connection, never when it answers 404', async (t) => {
  const primary = await startOrigin(t)
  const secondary = await startOrigin(t)
  const refused = await refusedPort()
  primary.setRoute('/five', { mode: 'status', status: 503 })
  primary.setRoute('/missing', { mode: 'status', status: 404 })
  primary.setRoute('/teapot', { mode: 'status', status: 418 })
  for (const p of ['/five', '/refused', '/missing', '/teapot', '/all/teapot']) secondary.setRoute(p, { mode: 'ok', body: `secondary ${p}` })
  primary.setRoute('/all/teapot', { mode: 'status', status: 418 })
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'failover', [
    { number: 1, prefix: 'refused', url: `http://127.0.0.1:${refused}`, redirect: `<MirrorURLSlave>${secondary.url}/</MirrorURLSlave>` },
    { number: 2, prefix: 'all/', url: primary.url, redirect: `<MirrorURLSlave>${secondary.url}/</MirrorURLSlave><MirrorSwitchAllErrors>true</MirrorSwitchAllErrors>` },
    { number: 3, url: primary.url, redirect: `<MirrorURLSlave>${secondary.url}/</MirrorURLSlave>` },
  ])
  assert.equal((await signed(server, 'GET', 'failover', 'five')).text, 'secondary /five')
  assert.equal((await signed(server, 'GET', 'failover', 'refused')).text, 'secondary /refused')
  assert.equal((await signed(server, 'GET', 'failover', 'all/teapot')).text, 'secondary /all/teapot')
  assertMirrorFailed(await signed(server, 'GET', 'failover', 'missing'), 'config_failed')
  assertMirrorFailed(await signed(server, 'GET', 'failover', 'teapot'), 'config_failed', EC.status)
  assert.equal(secondary.hits('/missing'), 0)
  assert.equal(secondary.hits('/teapot'), 0)
  assert.equal(primary.hits('/five'), 1)
  assert.deepEqual(await listKeys(server, 'failover'), ['all/teapot', 'five', 'refused'])
})

void test('rule conditions decide the trigger: prefix, suffix and IncludeHeader must hold, and a first-matching non-Mirror rule is a plain NoSuchKey', async (t) => {
  const origin = await startOrigin(t)
  for (const p of ['/p/a.txt', '/p/a.bin', '/q/a.txt', '/h/x', '/ext/x']) origin.setRoute(p, 'ok')
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'cond', [
    { number: 3, prefix: 'p/', suffix: '.txt', url: origin.url },
    { number: 2, prefix: 'h/', url: origin.url, condition: '<IncludeHeader><Key>X-Site</Key><Equals>shop</Equals></IncludeHeader>' },
    { number: 1, prefix: 'ext/', type: 'External', redirect: '<HostName>example.com</HostName>' },
  ])
  assert.equal((await signed(server, 'GET', 'cond', 'p/a.txt')).status, 200)
  for (const key of ['p/a.bin', 'q/a.txt', 'P/a.txt', 'ext/x']) {
    assertOssError(await signed(server, 'GET', 'cond', key), 404, 'NoSuchKey')
  }
  assertOssError(await signed(server, 'GET', 'cond', 'h/x', { headers: { 'x-site': 'other' } }), 404, 'NoSuchKey')
  assertOssError(await signed(server, 'GET', 'cond', 'h/x'), 404, 'NoSuchKey')
  assert.equal((await signed(server, 'GET', 'cond', 'h/x', { headers: { 'x-site': 'shop' } })).status, 200)
  for (const p of ['/p/a.bin', '/q/a.txt', '/ext/x']) assert.equal(origin.hits(p), 0, p)
  assert.equal(origin.hits('/h/x'), 1)
})

void test('HEAD triggers a fill only with MirrorAllowHeadObject, GetObjectMeta never does, and existing objects are always served locally', async (t) => {
  const origin = await startOrigin(t)
  for (const p of ['/head/yes', '/nohead', '/head/meta', '/local']) origin.setRoute(p, { mode: 'ok', body: `origin ${p}`, headers: { 'content-type': 'text/plain' } })
  const server = await startTestServer(t, { mirrorAllowPrivate: true, adminPort: '0' })
  await mirrorBucket(server, 'head', [
    { number: 1, prefix: 'head/', url: origin.url, redirect: '<MirrorAllowHeadObject>true</MirrorAllowHeadObject>' },
    { number: 2, url: origin.url },
  ])
  const head = await signed(server, 'HEAD', 'head', 'head/yes')
  assert.equal(head.status, 200)
  assert.equal(head.body.length, 0)
  assert.equal(head.headers['x-oss-tag'], 'MIRROR')
  assert.equal(head.headers['content-length'], String('origin /head/yes'.length))
  assert.equal(head.headers['content-type'], 'text/plain')
  assert.deepEqual(await listKeys(server, 'head'), ['head/yes'])
  assert.equal((await signed(server, 'GET', 'head', 'head/yes')).text, 'origin /head/yes')
  assert.equal(origin.hits('/head/yes'), 1)

  assert.equal((await signed(server, 'HEAD', 'head', 'nohead')).status, 404)
  assert.equal(origin.hits('/nohead'), 0)
  const meta = await signed(server, 'HEAD', 'head', 'head/meta', { query: 'objectMeta', subresources: { objectMeta: '' } })
  assert.equal(meta.status, 404)
  assert.equal(origin.hits('/head/meta'), 0)

  assert.equal((await signed(server, 'PUT', 'head', 'local', { body: 'local bytes' })).status, 200)
  const local = await signed(server, 'GET', 'head', 'local')
  assert.equal(local.text, 'local bytes')
  assert.equal(local.headers['x-oss-tag'], undefined)
  assert.equal(origin.hits('/local'), 0)
})

void test('an anonymous GET on a public-read bucket starts a fill; on a private bucket it is 403 and never reaches the origin', async (t) => {
  const origin = await startOrigin(t)
  origin.setRoute('/anon', { mode: 'ok', body: 'public bytes' })
  origin.setRoute('/secret', { mode: 'ok', body: 'private bytes' })
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'public', [{ url: origin.url, redirect: '<MirrorAllowHeadObject>true</MirrorAllowHeadObject>' }], 'public-read')
  await mirrorBucket(server, 'private', [{ url: origin.url, redirect: '<MirrorAllowHeadObject>true</MirrorAllowHeadObject>' }])
  const anon = await raw(server, { path: '/public/anon' })
  assert.equal(anon.status, 200)
  assert.equal(anon.text, 'public bytes')
  assert.equal(anon.headers['x-oss-tag'], 'MIRROR')
  assert.deepEqual(await listKeys(server, 'public'), ['anon'])
  assertOssError(await raw(server, { path: '/private/secret' }), 403, 'AccessDenied')
  assert.equal((await raw(server, { method: 'HEAD', path: '/private/secret' })).status, 403)
  assert.equal(origin.hits('/secret'), 0)
  assert.deepEqual(await listKeys(server, 'private'), [])
})

void test('rule changes apply to misses that start afterwards, and a deleted mirrored object is fetched again', async (t) => {
  const first = await startOrigin(t)
  const second = await startOrigin(t)
  first.setRoute('/k', { mode: 'ok', body: 'first origin' })
  second.setRoute('/k', { mode: 'ok', body: 'second origin' })
  second.setRoute('/j', { mode: 'ok', body: 'second j' })
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'change', [{ url: first.url }])
  assert.equal((await signed(server, 'GET', 'change', 'k')).text, 'first origin')
  await setRules(server, 'change', [{ url: second.url }])
  assert.equal((await signed(server, 'GET', 'change', 'k')).text, 'first origin', 'never refreshed')
  assert.equal((await signed(server, 'GET', 'change', 'j')).text, 'second j')
  assert.equal((await signed(server, 'DELETE', 'change', 'k')).status, 204)
  assert.equal((await signed(server, 'GET', 'change', 'k')).text, 'second origin')
  assert.equal(first.hits('/k'), 1)
  assert.equal(second.hits('/k'), 1)
})
