import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { HeaderList } from '../../src/auth/types.js'
import {
  compileRoutingRules,
  compileRule,
  isOriginBase,
  matchRule,
  originHeaders,
  originKey,
  originQuery,
  originUrl,
  RulesError,
  type ConfigElement,
  type MirrorRedirect,
  type RoutingRule,
} from '../../src/mirror/rules.js'
import { KEY_CTRL, KEY_DOTDOT, KEY_MAX, KEY_UTF8 } from '../support/server.js'

type Content = ConfigElement | string

/** An element: a string content is its text, elements are its children. */
function el(name: string, ...content: Content[]): ConfigElement {
  const children = content.filter((c): c is ConfigElement => typeof c !== 'string')
  const text = content.filter((c): c is string => typeof c === 'string').join('')
  return { name, text, children }
}

/** Leaves from a record; arrays repeat the element. */
function leaves(fields: Record<string, string | readonly string[] | ConfigElement>): ConfigElement[] {
  return Object.entries(fields).flatMap(([name, v]) =>
    typeof v === 'string' ? [el(name, v)] : Array.isArray(v) ? v.map((x: string) => el(name, x)) : [v as ConfigElement],
  )
}

function ruleEl(
  n: number | string,
  cond: Record<string, string | ConfigElement> | ConfigElement[] = {},
  redirect: Record<string, string | ConfigElement> = {},
): ConfigElement {
  const condChildren = Array.isArray(cond) ? cond : leaves(cond)
  return el(
    'RoutingRule',
    el('RuleNumber', String(n)),
    el('Condition', ...condChildren),
    el('Redirect', ...leaves({ RedirectType: 'Mirror', MirrorURL: 'https://origin.example.net/base/', ...redirect })),
  )
}

function compile(...rules: ConfigElement[]): RoutingRule[] {
  return compileRoutingRules(el('RoutingRules', ...rules))
}

function mirrorOf(rule: ConfigElement): MirrorRedirect {
  const m = compileRule(rule).mirror
  assert.ok(m !== undefined)
  return m
}

function headers(pairs: Record<string, string | string[]>): HeaderList {
  return new Map(Object.entries(pairs).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v : [v]]))
}

function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof RulesError) return err.kind
    throw err
  }
  return 'accepted'
}

const NONE = headers({})

// ---------------------------------------------------------------------------------------------
// Matching (B1, B3)

void test('matchRule picks the first rule by ascending RuleNumber, whatever the document order', () => {
  const rules = compile(ruleEl(7, { KeyPrefixEquals: 'a/' }), ruleEl(3, { KeyPrefixEquals: 'a/b' }), ruleEl(5, {}))
  assert.deepEqual(
    rules.map((r) => r.ruleNumber),
    [3, 5, 7],
  )
  assert.equal(matchRule(rules, 'a/b/c', NONE)?.ruleNumber, 3)
  assert.equal(matchRule(rules, 'a/x', NONE)?.ruleNumber, 5)
})

void test('matchRule compares prefix and suffix case-sensitively and needs both', () => {
  const rules = compile(ruleEl(1, { KeyPrefixEquals: 'assets/', KeySuffixEquals: '.png' }))
  assert.equal(matchRule(rules, 'assets/x.png', NONE)?.ruleNumber, 1)
  assert.equal(matchRule(rules, 'Assets/x.png', NONE), undefined)
  assert.equal(matchRule(rules, 'assets/x.PNG', NONE), undefined)
  assert.equal(matchRule(rules, 'other/x.png', NONE), undefined)
  const utf8 = compile(ruleEl(1, { KeyPrefixEquals: '中文/' }))
  assert.equal(matchRule(utf8, KEY_UTF8, NONE)?.ruleNumber, 1)
})

void test('matchRule: HttpErrorCodeReturnedEquals absent or 404 matches a miss, other codes never do', () => {
  const external = (n: number, code: string): ConfigElement =>
    el('RoutingRule', el('RuleNumber', String(n)), el('Condition', el('HttpErrorCodeReturnedEquals', code)), el('Redirect', el('RedirectType', 'External')))
  const rules = compile(external(1, '403'), ruleEl(2, { HttpErrorCodeReturnedEquals: '404' }))
  assert.equal(matchRule(rules, 'k', NONE)?.ruleNumber, 2)
})

void test('matchRule returns a non-Mirror rule when it comes first (the caller answers NoSuchKey)', () => {
  const external = el('RoutingRule', el('RuleNumber', '1'), el('Condition'), el('Redirect', el('RedirectType', 'External'), el('HostName', 'x')))
  const rules = compile(ruleEl(2), external)
  const hit = matchRule(rules, 'k', NONE)
  assert.equal(hit?.redirectType, 'External')
  assert.equal(hit?.mirror, undefined)
})

void test('matchRule: IncludeHeader needs the header present, name case-insensitive, Equals/StartsWith/EndsWith exact', () => {
  const include = (fields: Record<string, string>): ConfigElement => el('IncludeHeader', ...leaves(fields))
  const rules = compile(
    ruleEl(1, [include({ Key: 'X-Site', Equals: 'shop' })]),
    ruleEl(2, [include({ Key: 'x-tenant', StartsWith: 'ab', EndsWith: 'yz' }), include({ Key: 'x-present' })]),
  )
  assert.equal(matchRule(rules, 'k', headers({ 'x-site': 'shop' }))?.ruleNumber, 1)
  assert.equal(matchRule(rules, 'k', headers({ 'x-site': 'Shop' })), undefined)
  assert.equal(matchRule(rules, 'k', headers({ 'x-site': 'shop2' })), undefined)
  assert.equal(matchRule(rules, 'k', headers({ 'x-tenant': 'abcxyz', 'x-present': '' }))?.ruleNumber, 2)
  assert.equal(matchRule(rules, 'k', headers({ 'x-tenant': 'abcxyz' })), undefined, 'every IncludeHeader must hold')
  assert.equal(matchRule(rules, 'k', headers({ 'x-tenant': 'abcxy', 'x-present': '1' })), undefined)
  assert.equal(matchRule(rules, 'k', headers({ 'x-site': ['other', 'shop'] }))?.ruleNumber, 1, 'one of repeated values suffices')
})

void test('matchRule compares non-ASCII IncludeHeader values with the header bytes as Node gives them (latin1)', () => {
  const rules = compile(ruleEl(1, [el('IncludeHeader', el('Key', 'x-name'), el('Equals', 'é'))]))
  const latin1 = Buffer.from('é', 'utf8').toString('latin1')
  assert.equal(matchRule(rules, 'k', headers({ 'x-name': latin1 }))?.ruleNumber, 1)
})

// ---------------------------------------------------------------------------------------------
// Origin key (B3)

void test('originKey case 1: a non-empty ReplaceKeyWith, every ${key} replaced', () => {
  const rule = compileRule(ruleEl(1, { KeyPrefixEquals: 'p/' }, { ReplaceKeyWith: 'v2/${key}/${key}' }))
  assert.equal(originKey(rule, 'p/a.txt'), 'v2/p/a.txt/p/a.txt')
  const fixed = compileRule(ruleEl(1, {}, { ReplaceKeyWith: 'static.bin' }))
  assert.equal(originKey(fixed, 'anything'), 'static.bin')
})

void test('originKey case 2: prefix replaced by ReplaceKeyPrefixWith, removed with EnableReplacePrefix alone, prepended without a prefix', () => {
  const doc = compileRule(ruleEl(1, { KeyPrefixEquals: 'examplefolder/' }, { ReplaceKeyPrefixWith: 'destfolder/' }))
  assert.equal(originKey(doc, 'examplefolder/example.txt'), 'destfolder/example.txt')
  const removed = compileRule(ruleEl(1, { KeyPrefixEquals: 'examplefolder/' }, { EnableReplacePrefix: 'true' }))
  assert.equal(originKey(removed, 'examplefolder/example.txt'), 'example.txt')
  const prepended = compileRule(ruleEl(1, {}, { ReplaceKeyPrefixWith: 'img/' }))
  assert.equal(originKey(prepended, 'a.png'), 'img/a.png')
  const both = compileRule(ruleEl(1, { KeyPrefixEquals: 'assets/' }, { EnableReplacePrefix: 'true', ReplaceKeyPrefixWith: 'img/' }))
  assert.equal(originKey(both, 'assets/x.png'), 'img/x.png')
})

void test('originKey case 3: the key itself; an empty ReplaceKeyWith counts as absent', () => {
  assert.equal(originKey(compileRule(ruleEl(1, { KeyPrefixEquals: 'a/' })), 'a/b'), 'a/b')
  assert.equal(originKey(compileRule(ruleEl(1, {}, { ReplaceKeyWith: '' })), 'a/b'), 'a/b')
  assert.equal(originKey(compileRule(ruleEl(1, {}, { EnableReplacePrefix: 'false' })), 'a/b'), 'a/b')
})

// ---------------------------------------------------------------------------------------------
// Origin URL (B4)

const BASE = 'https://origin.example.net:8443/base/'

void test('originUrl percent-encodes every UTF-8 byte outside A-Z a-z 0-9 - . _ ~ / in uppercase hex', () => {
  assert.equal(originUrl(BASE, 'a b+c&d?e#f%g', false, undefined), `${BASE}a%20b%2Bc%26d%3Fe%23f%25g`)
  assert.equal(originUrl(BASE, 'Az09-._~/x', false, undefined), `${BASE}Az09-._~/x`)
  assert.equal(originUrl(BASE, 'é', false, undefined), `${BASE}%C3%A9`)
  assert.equal(originUrl(BASE, KEY_CTRL, false, undefined), `${BASE}ctrl-%01%0A%0C%07-%0D%0A-key`)
  assert.equal(originUrl(BASE, KEY_UTF8, false, undefined), `${BASE}${encodeURIComponent(KEY_UTF8).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`)
  assert.equal(originUrl(BASE, KEY_MAX, false, undefined), BASE + KEY_MAX)
  assert.equal(originUrl(BASE, 'a%2e%2e', false, undefined), `${BASE}a%252e%252e`)
})

void test('originUrl refuses an origin key with a . or .. segment, even after slash collapsing', () => {
  assert.equal(originUrl(BASE, KEY_DOTDOT, false, undefined), undefined)
  for (const key of ['..', '.', 'a/../b', 'a/./b', 'a/..', './a', 'a//..//b', '/../a']) {
    assert.equal(originUrl(BASE, key, false, undefined), undefined, key)
    assert.equal(originUrl(BASE, key, true, undefined), undefined, key)
  }
  assert.equal(originUrl(BASE, '...', false, undefined), `${BASE}...`)
  assert.equal(originUrl(BASE, 'a/.b/..c', false, undefined), `${BASE}a/.b/..c`)
  assert.equal(originUrl(BASE, '%2e%2e', false, undefined), `${BASE}%252e%252e`)
})

void test('originUrl collapses runs of / and drops a leading / unless MirrorPassOriginalSlashes', () => {
  assert.equal(originUrl(BASE, '//a///b//', false, undefined), `${BASE}a/b/`)
  assert.equal(originUrl(BASE, '//a///b//', true, undefined), `${BASE}//a///b//`)
})

void test('originUrl appends ?query only when a non-empty query is given', () => {
  assert.equal(originUrl(BASE, 'k', false, 'a=1&b'), `${BASE}k?a=1&b`)
  assert.equal(originUrl(BASE, 'k', false, ''), `${BASE}k`)
  assert.equal(originUrl(BASE, 'k', false, undefined), `${BASE}k`)
})

void test('originUrl never leaves MirrorURL: same scheme, host and port, and always starts with it (property)', () => {
  const bases = ['http://origin.example.org/', 'https://origin.example.net:8443/base/', 'http://[::1]:8080/a/b/', 'http://10.0.0.1/x%20y/']
  for (const base of bases) assert.ok(isOriginBase(base), base)
  const keyArb = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 64 }),
    fc.array(fc.constantFrom('/', '\\', '.', '..', '%2e', '@', 'evil.com', ':', '?', '#', '%', 'a', '\t', '\n', ' ', '\u0000', 'é'), { maxLength: 16 }).map((a) => a.join('')),
  )
  fc.assert(
    fc.property(fc.constantFrom(...bases), keyArb, fc.boolean(), (base, key, slashes) => {
      const url = originUrl(base, key, slashes, undefined)
      if (url === undefined) return
      assert.ok(url.startsWith(base))
      const b = new URL(base)
      const u = new URL(url)
      assert.equal(u.protocol, b.protocol)
      assert.equal(u.host, b.host)
      assert.equal(u.port, b.port)
      assert.equal(u.username, '')
      assert.ok(u.pathname.startsWith(b.pathname), `${url} left ${b.pathname}`)
      assert.equal(u.search, '')
      assert.equal(u.hash, '')
    }),
    { numRuns: 2000, seed: 20261125 },
  )
})

// ---------------------------------------------------------------------------------------------
// Origin query (B4)

void test('originQuery passes the raw query only with (Mirror)PassQueryString, minus OSS signature parameters', () => {
  const raw =
    'a=1&OSSAccessKeyId=AK&Expires=1&Signature=s%2B&security-token=t&x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=c' +
    '&x-oss-date=d&x-oss-expires=60&x-oss-signature=sig&x-oss-additional-headers=h&b=%20x&&c'
  assert.equal(originQuery(mirrorOf(ruleEl(1)), raw), undefined)
  assert.equal(originQuery(mirrorOf(ruleEl(1, {}, { PassQueryString: 'true' })), raw), 'a=1&b=%20x&c')
  assert.equal(originQuery(mirrorOf(ruleEl(1, {}, { MirrorPassQueryString: 'TRUE' })), raw), 'a=1&b=%20x&c')
  assert.equal(originQuery(mirrorOf(ruleEl(1, {}, { PassQueryString: 'true', MirrorPassQueryString: 'false' })), raw), undefined, 'MirrorPassQueryString wins')
  assert.equal(originQuery(mirrorOf(ruleEl(1, {}, { PassQueryString: 'false', MirrorPassQueryString: 'true' })), 'x%2Doss%2Dsignature=1&signature=2'), '')
})

// ---------------------------------------------------------------------------------------------
// Origin headers (B4)

const UA = 'Mirrorstore/0.1.0'

function policy(fields: Record<string, string | readonly string[]>, set: ReadonlyArray<readonly [string, string]> = []): MirrorRedirect {
  const mh = el('MirrorHeaders', ...leaves(fields), ...set.map(([k, v]) => el('Set', el('Key', k), el('Value', v))))
  return mirrorOf(ruleEl(1, {}, { MirrorHeaders: mh }))
}

void test('originHeaders forwards no client header by default and always sends User-Agent and Accept-Encoding identity', () => {
  const out = originHeaders(mirrorOf(ruleEl(1)), headers({ 'x-custom': '1', 'user-agent': 'curl', 'accept-encoding': 'gzip', cookie: 'c' }), UA)
  assert.deepEqual(out, { 'user-agent': UA, 'accept-encoding': 'identity' })
})

void test('originHeaders: the A4 example, PassAll + Remove bbb-header + Set ccc-header: ccc', () => {
  const m = policy({ PassAll: 'true', Remove: ['bbb-header'] }, [['ccc-header', 'ccc']])
  const out = originHeaders(m, headers({ 'aaa-header': 'a', 'bbb-header': 'b', 'ccc-header': '111' }), UA)
  assert.deepEqual(out, { 'user-agent': UA, 'accept-encoding': 'identity', 'aaa-header': 'a', 'ccc-header': 'ccc' })
})

void test('originHeaders: PassAll never forwards reserved names, Cookie, Accept-Encoding or the client User-Agent', () => {
  const client = headers({
    authorization: 'OSS a:b',
    authorization2: 'x',
    range: 'bytes=0-1',
    'content-length': '5',
    date: 'd',
    host: 'bucket.local',
    'if-none-match': '"e"',
    'if-modified-since': 'd',
    connection: 'keep-alive',
    'keep-alive': 'timeout=5',
    'proxy-authorization': 'p',
    te: 'trailers',
    trailer: 't',
    'transfer-encoding': 'chunked',
    upgrade: 'h2c',
    expect: '100-continue',
    'oss-x': '1',
    'x-oss-date': 'd',
    'x-oss-security-token': 't',
    'x-drs-x': '1',
    cookie: 'session=1',
    'accept-encoding': 'gzip',
    'user-agent': 'curl/8',
    'accept-language': 'en',
    'x-multi': ['1', '2'],
  })
  const out = originHeaders(policy({ PassAll: 'true' }), client, UA)
  assert.deepEqual(out, { 'user-agent': UA, 'accept-encoding': 'identity', 'accept-language': 'en', 'x-multi': '1, 2' })
})

void test('originHeaders: Pass forwards listed headers the client sent and may replace User-Agent and Accept-Encoding; reserved names stay out', () => {
  const m = policy({ Pass: ['Accept-Language', 'x-tenant', 'user-agent', 'accept-encoding', 'Authorization', 'x-oss-meta-a', 'cookie', 'x-absent'] })
  const out = originHeaders(
    m,
    headers({ 'accept-language': 'fr', 'x-tenant': 't1', 'user-agent': 'curl/8', 'accept-encoding': 'gzip', authorization: 'OSS a:b', 'x-oss-meta-a': '1', cookie: 'c', 'x-other': 'o' }),
    UA,
  )
  assert.deepEqual(out, { 'user-agent': 'curl/8', 'accept-encoding': 'gzip', 'accept-language': 'fr', 'x-tenant': 't1', cookie: 'c' })
})

void test('originHeaders: Set always applies and overrides, except for reserved names; values become header bytes', () => {
  const m = policy({ PassAll: 'true', Pass: ['x-a'] }, [
    ['X-A', 'set'],
    ['User-Agent', 'custom'],
    ['Host', 'evil'],
    ['Range', 'bytes=0-0'],
    ['If-Match', 'x'],
    ['x-oss-meta-x', 'y'],
    ['x-utf8', 'é'],
  ])
  const out = originHeaders(m, headers({ 'x-a': 'client', 'x-b': 'b' }), UA)
  assert.deepEqual(out, {
    'user-agent': 'custom',
    'accept-encoding': 'identity',
    'x-a': 'set',
    'x-b': 'b',
    'x-utf8': Buffer.from('é', 'utf8').toString('latin1'),
  })
})

// ---------------------------------------------------------------------------------------------
// Compilation (B2): the refusals not covered through the API

void test('compileRule fills Mirror defaults: follow redirects on, everything else off', () => {
  const m = mirrorOf(ruleEl(1))
  assert.equal(m.url, 'https://origin.example.net/base/')
  assert.equal(m.slaveUrl, undefined)
  assert.equal(m.followRedirect, true)
  for (const flag of ['switchAllErrors', 'passQueryString', 'checkMd5', 'saveOssMeta', 'allowHeadObject', 'userLastModified', 'enableReplacePrefix', 'passOriginalSlashes'] as const) {
    assert.equal(m[flag], false, flag)
  }
  assert.deepEqual(m.headers, { passAll: false, pass: [], remove: [], set: [] })
  assert.deepEqual([...m.transparentCodes], [])
})

void test('compileRule reads TransparentMirrorResponseCodes, keeping only 4xx and 5xx', () => {
  assert.deepEqual([...mirrorOf(ruleEl(1, {}, { TransparentMirrorResponseCodes: '400, 404,200,503' })).transparentCodes], [400, 404, 503])
  assert.equal(refusal(() => compileRule(ruleEl(1, {}, { TransparentMirrorResponseCodes: '404,x' }))), 'invalid')
})

void test('isOriginBase accepts http(s) URLs ending in / and refuses anything a key could escape from', () => {
  for (const ok of ['http://a/', 'https://a.b:1/c/', 'HTTP://a/', 'http://[::1]/']) assert.equal(isOriginBase(ok), true, ok)
  for (const bad of [
    'ftp://a/',
    'http://a',
    'http://a/b',
    'http://u:p@a/',
    'http://u@a/',
    'http:///',
    'http:///a/',
    'http://a/?q=/',
    'http://a/#/',
    'http://a\\b/',
    'http://a/ b/',
    'http://a/\t/',
    'http://a:99999/',
    '//a/',
    'http:/a/',
  ]) {
    assert.equal(isOriginBase(bad), false, bad)
  }
})

void test('compileRoutingRules refuses B2 InvalidArgument cases with kind invalid', () => {
  const cases: Array<[string, () => unknown]> = [
    ['21 rules', () => compile(...Array.from({ length: 21 }, (_, i) => ruleEl(i + 1)))],
    ['RuleNumber 0', () => compile(ruleEl(0))],
    ['RuleNumber -1', () => compile(ruleEl('-1'))],
    ['RuleNumber x', () => compile(ruleEl('x'))],
    ['RuleNumber repeated', () => compile(ruleEl(1), ruleEl(1))],
    ['no RuleNumber', () => compile(el('RoutingRule', el('Condition'), el('Redirect', el('RedirectType', 'External'))))],
    ['no Condition', () => compile(el('RoutingRule', el('RuleNumber', '1'), el('Redirect', el('RedirectType', 'External'))))],
    ['no Redirect', () => compile(el('RoutingRule', el('RuleNumber', '1'), el('Condition')))],
    ['RedirectType unknown', () => compile(ruleEl(1, {}, { RedirectType: 'mirror' }))],
    ['no MirrorURL', () => compile(el('RoutingRule', el('RuleNumber', '1'), el('Condition'), el('Redirect', el('RedirectType', 'Mirror'))))],
    ['MirrorURL bad', () => compile(ruleEl(1, {}, { MirrorURL: 'http://a' }))],
    ['MirrorURLSlave bad', () => compile(ruleEl(1, {}, { MirrorURLSlave: 'http://u@a/' }))],
    ['code 403 on Mirror', () => compile(ruleEl(1, { HttpErrorCodeReturnedEquals: '403' }))],
    ['11 IncludeHeader', () => compile(ruleEl(1, Array.from({ length: 11 }, () => el('IncludeHeader', el('Key', 'a')))))],
    ['IncludeHeader without Key', () => compile(ruleEl(1, [el('IncludeHeader', el('Equals', 'a'))]))],
    ['11 Pass', () => compile(ruleEl(1, {}, { MirrorHeaders: el('MirrorHeaders', ...Array.from({ length: 11 }, (_, i) => el('Pass', `h${i}`))) }))],
    ['bad header name', () => compile(ruleEl(1, {}, { MirrorHeaders: el('MirrorHeaders', el('Pass', 'a_b')) }))],
    ['long header name', () => compile(ruleEl(1, {}, { MirrorHeaders: el('MirrorHeaders', el('Remove', 'a'.repeat(1025))) }))],
    ['Set value with LF', () => compile(ruleEl(1, {}, { MirrorHeaders: el('MirrorHeaders', el('Set', el('Key', 'a'), el('Value', 'x\ny'))) }))],
    ['Set value too long', () => compile(ruleEl(1, {}, { MirrorHeaders: el('MirrorHeaders', el('Set', el('Key', 'a'), el('Value', 'é'.repeat(513)))) }))],
    ['bad boolean', () => compile(ruleEl(1, {}, { MirrorCheckMd5: 'yes' }))],
    ['bad PassAll', () => compile(ruleEl(1, {}, { MirrorHeaders: el('MirrorHeaders', el('PassAll', '1')) }))],
    ['bad boolean on External', () => compile(el('RoutingRule', el('RuleNumber', '1'), el('Condition'), el('Redirect', el('RedirectType', 'External'), el('PassQueryString', ''))))],
    ['bad integer', () => compile(ruleEl(1, { HttpErrorCodeReturnedEquals: '40 4' }))],
    ['ReplaceKeyWith + ReplaceKeyPrefixWith', () => compile(ruleEl(1, {}, { ReplaceKeyWith: 'a', ReplaceKeyPrefixWith: 'b' }))],
    ['ReplaceKeyWith + EnableReplacePrefix', () => compile(ruleEl(1, {}, { ReplaceKeyWith: 'a', EnableReplacePrefix: 'True' }))],
  ]
  for (const [name, fn] of cases) assert.equal(refusal(fn), 'invalid', name)
  assert.equal(refusal(() => compile(...Array.from({ length: 20 }, (_, i) => ruleEl(20 - i)))), 'accepted')
  assert.equal(refusal(() => compile(ruleEl(1, {}, { ReplaceKeyWith: 'a', EnableReplacePrefix: 'false' }))), 'accepted')
  assert.equal(refusal(() => compile(ruleEl(1, {}, { MirrorHeaders: el('MirrorHeaders', el('Set', el('Key', 'a'), el('Value', 'é'.repeat(512)))) }))), 'accepted')
})

void test('compileRoutingRules refuses repeated single elements and text where elements belong as malformed', () => {
  assert.equal(refusal(() => compile(el('RoutingRule', el('RuleNumber', '1'), el('RuleNumber', '2'), el('Condition'), el('Redirect', el('RedirectType', 'External'))))), 'malformed')
  assert.equal(refusal(() => compile(el('RoutingRule', el('RuleNumber', '1'), el('Condition', 'text'), el('Redirect', el('RedirectType', 'External'))))), 'malformed')
  assert.equal(refusal(() => compile(el('RoutingRule', el('RuleNumber', el('X')), el('Condition'), el('Redirect', el('RedirectType', 'External'))))), 'malformed')
})
