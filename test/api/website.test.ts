import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { compiledRules } from '../../src/api/xml/website.js'
import { ossClient } from '../support/oss-client.js'
import { raw, signed, xmlField, type RawResponse } from '../support/raw.js'
import { startTestServer, type TestServer } from '../support/server.js'

/** What ali-oss 6.23's getBucketWebsite returns (its typings omit most of it). */
interface AliWebsite {
  readonly index: string
  readonly supportSubDir: string
  readonly type: string | undefined
  readonly error: string | null
  readonly routingRules: unknown[]
}

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

async function bucketOn(server: TestServer, name: string): Promise<void> {
  const res = await signed(server, 'PUT', name, undefined)
  assert.equal(res.status, 200, res.text)
}

function putWebsite(server: TestServer, bucket: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return signed(server, 'PUT', bucket, undefined, { query: 'website', subresources: { website: undefined }, body, headers })
}

function getWebsite(server: TestServer, bucket: string): Promise<RawResponse> {
  return signed(server, 'GET', bucket, undefined, { query: 'website', subresources: { website: undefined } })
}

function deleteWebsite(server: TestServer, bucket: string): Promise<RawResponse> {
  return signed(server, 'DELETE', bucket, undefined, { query: 'website', subresources: { website: undefined } })
}

function assertError(res: RawResponse, status: number, code: string, label = ''): void {
  assert.equal(res.status, status, `${label}: ${res.text}`)
  assert.equal(xmlField(res.text, 'Code'), code, label)
}

/** Whitespace between tags removed, as the stored document has it. */
function compact(xml: string): string {
  return xml.replace(/>\s+</g, '><').trim()
}

/** A minimal valid Mirror rule. */
function mirrorRule(n: number, extra = ''): string {
  return `<RoutingRule><RuleNumber>${n}</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://origin.example.org/</MirrorURL>${extra}</Redirect></RoutingRule>`
}

function withRules(...rules: string[]): string {
  return `<WebsiteConfiguration><RoutingRules>${rules.join('')}</RoutingRules></WebsiteConfiguration>`
}

const A3 = `<?xml version="1.0" encoding="UTF-8"?>
<WebsiteConfiguration>
  <IndexDocument><Suffix>index.html</Suffix><SupportSubDir>false</SupportSubDir><Type>0</Type></IndexDocument>
  <ErrorDocument><Key>404.html</Key><HttpStatus>404</HttpStatus></ErrorDocument>
  <RoutingRules>
    <RoutingRule>
      <RuleNumber>1</RuleNumber>
      <Condition>
        <KeyPrefixEquals>assets/</KeyPrefixEquals><KeySuffixEquals>.png</KeySuffixEquals>
        <HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals>
        <IncludeHeader><Key>x-site</Key><Equals>shop</Equals></IncludeHeader>
      </Condition>
      <Redirect>
        <RedirectType>Mirror</RedirectType>
        <MirrorURL>https://old.example.net/static/</MirrorURL>
        <MirrorURLSlave>https://backup.example.net/static/</MirrorURLSlave>
        <MirrorURLProbe>https://old.example.net/ping</MirrorURLProbe>
        <MirrorSwitchAllErrors>false</MirrorSwitchAllErrors>
        <EnableReplacePrefix>true</EnableReplacePrefix><ReplaceKeyPrefixWith>img/</ReplaceKeyPrefixWith>
        <PassQueryString>false</PassQueryString><MirrorPassQueryString>false</MirrorPassQueryString>
        <MirrorFollowRedirect>true</MirrorFollowRedirect><MirrorCheckMd5>true</MirrorCheckMd5>
        <MirrorPassOriginalSlashes>false</MirrorPassOriginalSlashes>
        <MirrorAllowHeadObject>true</MirrorAllowHeadObject><MirrorSaveOssMeta>true</MirrorSaveOssMeta>
        <MirrorUserLastModified>false</MirrorUserLastModified>
        <TransparentMirrorResponseCodes>404</TransparentMirrorResponseCodes>
        <MirrorHeaders>
          <PassAll>false</PassAll><Pass>accept-language</Pass><Pass>x-tenant</Pass>
          <Set><Key>x-mirror-by</Key><Value>oss</Value></Set>
        </MirrorHeaders>
      </Redirect>
    </RoutingRule>
    <RoutingRule>
      <RuleNumber>2</RuleNumber>
      <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://origin.example.org/</MirrorURL>
        <ReplaceKeyWith>v2/\${key}</ReplaceKeyWith></Redirect>
    </RoutingRule>
  </RoutingRules>
</WebsiteConfiguration>`

/** A3 as stored: compacted, rule 2's absent Mirror defaults filled in OSS's order. */
const A3_STORED =
  DECL +
  compact(A3.replace(DECL, '')).replace(
    '<Redirect><RedirectType>Mirror</RedirectType><MirrorURL>http://origin.example.org/</MirrorURL><ReplaceKeyWith>',
    '<Redirect><RedirectType>Mirror</RedirectType><PassQueryString>false</PassQueryString><MirrorURL>http://origin.example.org/</MirrorURL>' +
      '<MirrorPassQueryString>false</MirrorPassQueryString><MirrorFollowRedirect>true</MirrorFollowRedirect><MirrorCheckMd5>false</MirrorCheckMd5>' +
      '<MirrorHeaders><PassAll>false</PassAll></MirrorHeaders><ReplaceKeyWith>',
  )

void test('PutBucketWebsite stores the A3 example and GetBucketWebsite returns every element, defaults filled', async (t) => {
  const server = await startTestServer(t)
  await bucketOn(server, 'site-a3')
  const put = await putWebsite(server, 'site-a3', A3, { 'content-type': 'application/xml' })
  assert.equal(put.status, 200, put.text)
  const get = await getWebsite(server, 'site-a3')
  assert.equal(get.status, 200)
  assert.match(String(get.headers['content-type']), /^application\/xml/)
  assert.equal(get.text, A3_STORED)
  const rules = compiledRules(get.text)
  assert.deepEqual(
    rules.map((r) => [r.ruleNumber, r.mirror?.url, r.mirror?.replaceKeyWith]),
    [
      [1, 'https://old.example.net/static/', undefined],
      [2, 'http://origin.example.org/', 'v2/${key}'],
    ],
  )
  assert.equal(compiledRules(get.text), rules, 'cached by the document string')
})

void test('PutBucketWebsite keeps unknown, nested and repeated elements in order, entities round-trip, booleans lowercased, rules sorted', async (t) => {
  const server = await startTestServer(t)
  await bucketOn(server, 'site-order')
  const body =
    '<WebsiteConfiguration><Future a="1"><X>1</X><X>2</X><Y><Z>deep</Z></Y></Future>' +
    '<IndexDocument><Suffix>a&amp;b&lt;c&gt;d&quot;e&apos;&#x4E2D;&#13;</Suffix><SupportSubDir>TRUE</SupportSubDir></IndexDocument>' +
    '<RoutingRules><Note>keep</Note>' +
    mirrorRule(9, '<MirrorCheckMd5>True</MirrorCheckMd5><MirrorUnknown><K>v</K></MirrorUnknown>') +
    '<RoutingRule><RuleNumber>3</RuleNumber><Condition><KeyPrefixEquals><![CDATA[a&amp;<b>]]></KeyPrefixEquals></Condition>' +
    '<Redirect><RedirectType>External</RedirectType><PassQueryString>FALSE</PassQueryString><HostName>h</HostName><LuaNext/></Redirect><LuaConfig><Script>s</Script></LuaConfig></RoutingRule>' +
    '</RoutingRules></WebsiteConfiguration>'
  const put = await putWebsite(server, 'site-order', body, { 'content-type': 'text/xml; charset=utf-8' })
  assert.equal(put.status, 200, put.text)
  const get = await getWebsite(server, 'site-order')
  assert.equal(
    get.text,
    DECL +
      '<WebsiteConfiguration><Future><X>1</X><X>2</X><Y><Z>deep</Z></Y></Future>' +
      '<IndexDocument><Suffix>a&amp;b&lt;c&gt;d"e\'中&#13;</Suffix><SupportSubDir>true</SupportSubDir></IndexDocument>' +
      '<RoutingRules><Note>keep</Note>' +
      '<RoutingRule><RuleNumber>3</RuleNumber><Condition><KeyPrefixEquals>a&amp;amp;&lt;b&gt;</KeyPrefixEquals></Condition>' +
      '<Redirect><RedirectType>External</RedirectType><PassQueryString>false</PassQueryString><HostName>h</HostName><LuaNext></LuaNext></Redirect><LuaConfig><Script>s</Script></LuaConfig></RoutingRule>' +
      '<RoutingRule><RuleNumber>9</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>' +
      '<Redirect><RedirectType>Mirror</RedirectType><PassQueryString>false</PassQueryString><MirrorURL>http://origin.example.org/</MirrorURL>' +
      '<MirrorPassQueryString>false</MirrorPassQueryString><MirrorFollowRedirect>true</MirrorFollowRedirect><MirrorCheckMd5>true</MirrorCheckMd5>' +
      '<MirrorHeaders><PassAll>false</PassAll></MirrorHeaders><MirrorUnknown><K>v</K></MirrorUnknown></Redirect></RoutingRule>' +
      '</RoutingRules></WebsiteConfiguration>',
  )
  const rules = compiledRules(get.text)
  assert.equal(rules[0]?.condition.keyPrefixEquals, 'a&amp;<b>')
  assert.equal(rules[1]?.mirror?.checkMd5, true)
})

void test('PassQueryString alone sets the effective MirrorPassQueryString, and both are filled with it', async (t) => {
  const server = await startTestServer(t)
  await bucketOn(server, 'site-pqs')
  assert.equal((await putWebsite(server, 'site-pqs', withRules(mirrorRule(1, '<PassQueryString>true</PassQueryString>')))).status, 200)
  const text = (await getWebsite(server, 'site-pqs')).text
  assert.equal(xmlField(text, 'PassQueryString'), 'true')
  assert.equal(xmlField(text, 'MirrorPassQueryString'), 'true')
  assert.equal(compiledRules(text)[0]?.mirror?.passQueryString, true)
})

void test('ali-oss putBucketWebsite / getBucketWebsite / deleteBucketWebsite round-trip routing rules as strings', async (t) => {
  const server = await startTestServer(t)
  const client = ossClient(server)
  await client.putBucket('site-ali')
  const mirror = {
    RuleNumber: '1',
    Condition: { KeyPrefixEquals: 'abc/', HttpErrorCodeReturnedEquals: '404' },
    Redirect: {
      RedirectType: 'Mirror',
      PassQueryString: 'true',
      MirrorURL: 'http://www.test.com/',
      MirrorPassQueryString: 'true',
      MirrorFollowRedirect: 'true',
      MirrorCheckMd5: 'false',
      MirrorHeaders: { PassAll: 'true', Pass: ['myheader-key1', 'myheader-key2'], Remove: ['myheader-key3', 'myheader-key4'], Set: { Key: 'myheader-key5', Value: 'myheader-value5' } },
      ReplaceKeyWith: 'prefix/${key}.suffix',
      MirrorUserLastModified: 'false',
    },
  }
  const external = {
    RuleNumber: '2',
    Condition: { KeyPrefixEquals: 'def/', HttpErrorCodeReturnedEquals: '404', IncludeHeader: [{ Key: 'host', Equals: 'test.oss-cn-beijing-internal.aliyuncs.com' }, { Key: 'x-a', StartsWith: 'b' }] },
    Redirect: { RedirectType: 'External', PassQueryString: 'false', Protocol: 'http', HostName: 'example.com', HttpRedirectCode: '302', ReplaceKeyPrefixWith: 'p/' },
  }
  // Sent in descending RuleNumber order: GET answers them sorted.
  await client.putBucketWebsite('site-ali', { index: 'index.html', supportSubDir: 'true', type: '0', error: 'error.html', routingRules: [external, mirror] } as never)
  const got = (await client.getBucketWebsite('site-ali')) as unknown as AliWebsite
  assert.equal(got.index, 'index.html')
  assert.equal(got.supportSubDir, 'true')
  assert.equal(got.type, '0')
  assert.equal(got.error, 'error.html')
  assert.deepStrictEqual(got.routingRules, [mirror, external])

  await client.deleteBucketWebsite('site-ali')
  await assert.rejects(client.getBucketWebsite('site-ali'), (err: { status: number; code: string }) => err.status === 404 && err.code === 'NoSuchWebsiteConfiguration')
  await client.deleteBucketWebsite('site-ali')
})

void test('ali-oss getBucketWebsite sees filled Mirror defaults as strings', async (t) => {
  const server = await startTestServer(t)
  const client = ossClient(server)
  await client.putBucket('site-ali-defaults')
  const rule = { RuleNumber: '1', Condition: { HttpErrorCodeReturnedEquals: '404' }, Redirect: { RedirectType: 'Mirror', MirrorURL: 'https://origin.example.net/' } }
  await client.putBucketWebsite('site-ali-defaults', { routingRules: [rule] } as never)
  const got = (await client.getBucketWebsite('site-ali-defaults')) as unknown as AliWebsite
  assert.deepStrictEqual(got.routingRules, [
    {
      ...rule,
      Redirect: {
        RedirectType: 'Mirror',
        PassQueryString: 'false',
        MirrorURL: 'https://origin.example.net/',
        MirrorPassQueryString: 'false',
        MirrorFollowRedirect: 'true',
        MirrorCheckMd5: 'false',
        MirrorHeaders: { PassAll: 'false' },
      },
    },
  ])
})

void test('GetBucketWebsite without a configuration answers 404 NoSuchWebsiteConfiguration with BucketName; DeleteBucketWebsite is idempotent', async (t) => {
  const server = await startTestServer(t)
  await bucketOn(server, 'site-none')
  const get = await getWebsite(server, 'site-none')
  assertError(get, 404, 'NoSuchWebsiteConfiguration')
  assert.equal(xmlField(get.text, 'Message'), 'The specified bucket does not have a website configuration.')
  assert.equal(xmlField(get.text, 'BucketName'), 'site-none')
  assert.equal((await deleteWebsite(server, 'site-none')).status, 204)
  assert.equal((await putWebsite(server, 'site-none', withRules(mirrorRule(1)))).status, 200)
  assert.equal((await deleteWebsite(server, 'site-none')).status, 204)
  assert.equal((await deleteWebsite(server, 'site-none')).status, 204)
  assertError(await getWebsite(server, 'site-none'), 404, 'NoSuchWebsiteConfiguration')
  assertError(await getWebsite(server, 'site-missing'), 404, 'NoSuchBucket')
  assertError(await putWebsite(server, 'site-missing', withRules(mirrorRule(1))), 404, 'NoSuchBucket')
})

void test('PutBucketWebsite refusals answer the right 400 code and leave the previous configuration unchanged', async (t) => {
  const server = await startTestServer(t)
  await bucketOn(server, 'site-refuse')
  assert.equal((await putWebsite(server, 'site-refuse', A3)).status, 200)
  const before = (await getWebsite(server, 'site-refuse')).text
  const external = (redirect: string, cond = ''): string =>
    `<RoutingRule><RuleNumber>1</RuleNumber><Condition>${cond}</Condition><Redirect><RedirectType>External</RedirectType>${redirect}</Redirect></RoutingRule>`
  const cases: Array<[string, string, string]> = [
    ['empty body', '', 'MalformedXML'],
    ['not well formed', '<WebsiteConfiguration><IndexDocument></WebsiteConfiguration>', 'MalformedXML'],
    ['truncated', '<WebsiteConfiguration><IndexDocument><Suffix>a</Suffix></IndexDocument>', 'MalformedXML'],
    ['unescaped &', '<WebsiteConfiguration><IndexDocument><Suffix>a & b</Suffix></IndexDocument></WebsiteConfiguration>', 'MalformedXML'],
    ['unknown entity', '<WebsiteConfiguration><IndexDocument><Suffix>&nbsp;</Suffix></IndexDocument></WebsiteConfiguration>', 'MalformedXML'],
    ['bad char ref', '<WebsiteConfiguration><IndexDocument><Suffix>&#0;</Suffix></IndexDocument></WebsiteConfiguration>', 'MalformedXML'],
    ['DOCTYPE', '<?xml version="1.0"?><!DOCTYPE WebsiteConfiguration><WebsiteConfiguration><IndexDocument/></WebsiteConfiguration>', 'MalformedXML'],
    ['ENTITY', '<!DOCTYPE x [<!ENTITY e "v">]><WebsiteConfiguration><IndexDocument><Suffix>&e;</Suffix></IndexDocument></WebsiteConfiguration>', 'MalformedXML'],
    ['wrong root', '<WebsiteConfig><IndexDocument/></WebsiteConfig>', 'MalformedXML'],
    ['two roots', '<WebsiteConfiguration><IndexDocument/></WebsiteConfiguration><WebsiteConfiguration/>', 'MalformedXML'],
    ['no container', '<WebsiteConfiguration><Other/></WebsiteConfiguration>', 'MalformedXML'],
    ['empty root', '<WebsiteConfiguration/>', 'MalformedXML'],
    ['mixed text', '<WebsiteConfiguration><IndexDocument>x<Suffix>a</Suffix></IndexDocument></WebsiteConfiguration>', 'MalformedXML'],
    ['two IndexDocument', '<WebsiteConfiguration><IndexDocument/><IndexDocument/></WebsiteConfiguration>', 'MalformedXML'],
    ['21 rules', withRules(...Array.from({ length: 21 }, (_, i) => mirrorRule(i + 1))), 'InvalidArgument'],
    ['RuleNumber missing', withRules(mirrorRule(1).replace('<RuleNumber>1</RuleNumber>', '')), 'InvalidArgument'],
    ['RuleNumber 0', withRules(mirrorRule(0)), 'InvalidArgument'],
    ['RuleNumber -3', withRules(mirrorRule(1).replace('>1<', '>-3<')), 'InvalidArgument'],
    ['RuleNumber duplicated', withRules(mirrorRule(4), mirrorRule(4)), 'InvalidArgument'],
    ['no Condition', withRules('<RoutingRule><RuleNumber>1</RuleNumber><Redirect><RedirectType>External</RedirectType></Redirect></RoutingRule>'), 'InvalidArgument'],
    ['no Redirect', withRules('<RoutingRule><RuleNumber>1</RuleNumber><Condition/></RoutingRule>'), 'InvalidArgument'],
    ['unknown RedirectType', withRules(external('').replace('External', 'Proxy')), 'InvalidArgument'],
    ['no MirrorURL', withRules(mirrorRule(1).replace('<MirrorURL>http://origin.example.org/</MirrorURL>', '')), 'InvalidArgument'],
    ['MirrorURL not http(s)', withRules(mirrorRule(1).replace('http://origin.example.org/', 'ftp://origin.example.org/')), 'InvalidArgument'],
    ['MirrorURL without /', withRules(mirrorRule(1).replace('http://origin.example.org/', 'http://origin.example.org')), 'InvalidArgument'],
    ['MirrorURL user-info', withRules(mirrorRule(1).replace('http://origin.example.org/', 'http://u:p@origin.example.org/')), 'InvalidArgument'],
    ['MirrorURLSlave bad', withRules(mirrorRule(1, '<MirrorURLSlave>https://backup.example.net</MirrorURLSlave>')), 'InvalidArgument'],
    ['code 403 on Mirror', withRules(mirrorRule(1).replace('>404<', '>403<')), 'InvalidArgument'],
    ['11 IncludeHeader', withRules(external('', '<IncludeHeader><Key>a</Key></IncludeHeader>'.repeat(11))), 'InvalidArgument'],
    ['11 Pass', withRules(mirrorRule(1, `<MirrorHeaders>${'<Pass>a</Pass>'.repeat(11)}</MirrorHeaders>`)), 'InvalidArgument'],
    ['11 Remove', withRules(mirrorRule(1, `<MirrorHeaders>${'<Remove>a</Remove>'.repeat(11)}</MirrorHeaders>`)), 'InvalidArgument'],
    ['11 Set', withRules(mirrorRule(1, `<MirrorHeaders>${'<Set><Key>a</Key><Value>b</Value></Set>'.repeat(11)}</MirrorHeaders>`)), 'InvalidArgument'],
    ['bad header name', withRules(mirrorRule(1, '<MirrorHeaders><Pass>x y</Pass></MirrorHeaders>')), 'InvalidArgument'],
    ['header name 1025 bytes', withRules(mirrorRule(1, `<MirrorHeaders><Pass>${'a'.repeat(1025)}</Pass></MirrorHeaders>`)), 'InvalidArgument'],
    ['header value 1025 bytes', withRules(mirrorRule(1, `<MirrorHeaders><Set><Key>a</Key><Value>${'v'.repeat(1025)}</Value></Set></MirrorHeaders>`)), 'InvalidArgument'],
    ['header value with CR', withRules(mirrorRule(1, '<MirrorHeaders><Set><Key>a</Key><Value>x&#13;y</Value></Set></MirrorHeaders>')), 'InvalidArgument'],
    ['bad boolean', withRules(mirrorRule(1, '<MirrorFollowRedirect>yes</MirrorFollowRedirect>')), 'InvalidArgument'],
    ['bad SupportSubDir', '<WebsiteConfiguration><IndexDocument><SupportSubDir>1</SupportSubDir></IndexDocument></WebsiteConfiguration>', 'InvalidArgument'],
    ['bad integer', withRules(mirrorRule(1).replace('>404<', '>4o4<')), 'InvalidArgument'],
    ['bad Type', '<WebsiteConfiguration><IndexDocument><Type>3</Type></IndexDocument></WebsiteConfiguration>', 'InvalidArgument'],
    ['bad HttpStatus', '<WebsiteConfiguration><ErrorDocument><HttpStatus>500</HttpStatus></ErrorDocument></WebsiteConfiguration>', 'InvalidArgument'],
    ['ReplaceKeyWith + ReplaceKeyPrefixWith', withRules(mirrorRule(1, '<ReplaceKeyWith>a</ReplaceKeyWith><ReplaceKeyPrefixWith>b</ReplaceKeyPrefixWith>')), 'InvalidArgument'],
    ['ReplaceKeyWith + EnableReplacePrefix', withRules(mirrorRule(1, '<ReplaceKeyWith>a</ReplaceKeyWith><EnableReplacePrefix>true</EnableReplacePrefix>')), 'InvalidArgument'],
  ]
  for (const [label, body, code] of cases) {
    assertError(await putWebsite(server, 'site-refuse', body), 400, code, label)
  }
  assert.equal((await getWebsite(server, 'site-refuse')).text, before)
})

void test('PutBucketWebsite accepts 20 rules and refuses 21', async (t) => {
  const server = await startTestServer(t)
  await bucketOn(server, 'site-twenty')
  const twenty = withRules(...Array.from({ length: 20 }, (_, i) => mirrorRule(20 - i)))
  assert.equal((await putWebsite(server, 'site-twenty', twenty)).status, 200)
  const text = (await getWebsite(server, 'site-twenty')).text
  assert.deepEqual(
    compiledRules(text).map((r) => r.ruleNumber),
    Array.from({ length: 20 }, (_, i) => i + 1),
  )
  assertError(await putWebsite(server, 'site-twenty', withRules(...Array.from({ length: 21 }, (_, i) => mirrorRule(i + 1)))), 400, 'InvalidArgument')
  assert.equal((await getWebsite(server, 'site-twenty')).text, text)
})

void test('PutBucketWebsite accepts a body of exactly 64 KiB and refuses 64 KiB + 1 as MalformedXML', async (t) => {
  const server = await startTestServer(t)
  await bucketOn(server, 'site-size')
  const doc = withRules(mirrorRule(1))
  const exact = doc.replace('<RoutingRules>', `<RoutingRules>${' '.repeat(64 * 1024 - doc.length)}`)
  assert.equal(Buffer.byteLength(exact), 64 * 1024)
  assert.equal((await putWebsite(server, 'site-size', exact)).status, 200)
  assertError(await putWebsite(server, 'site-size', `${exact} `), 400, 'MalformedXML')
  assertError(await putWebsite(server, 'site-size', `${exact} `, { 'transfer-encoding': 'chunked' }), 400, 'MalformedXML', 'chunked')
})

void test('PutBucketWebsite checks Content-MD5: a mismatch is InvalidDigest and changes nothing', async (t) => {
  const server = await startTestServer(t)
  await bucketOn(server, 'site-md5')
  const body = withRules(mirrorRule(1))
  const md5 = (s: string): string => createHash('md5').update(s).digest('base64')
  assertError(await putWebsite(server, 'site-md5', body, { 'content-md5': md5(`${body} `) }), 400, 'InvalidDigest')
  assertError(await getWebsite(server, 'site-md5'), 404, 'NoSuchWebsiteConfiguration')
  assert.equal((await putWebsite(server, 'site-md5', body, { 'content-md5': md5(body) })).status, 200)
})

void test('PutBucketWebsite accepts empty containers, Suffix and Key, as the Go SDK sends them', async (t) => {
  const server = await startTestServer(t)
  await bucketOn(server, 'site-empty')
  const body =
    '<WebsiteConfiguration><IndexDocument><Suffix></Suffix></IndexDocument><ErrorDocument><Key/></ErrorDocument><RoutingRules>' +
    mirrorRule(1, '<MirrorHeaders></MirrorHeaders>') +
    '</RoutingRules></WebsiteConfiguration>'
  assert.equal((await putWebsite(server, 'site-empty', body, { 'content-type': 'text/xml; charset=utf-8' })).status, 200)
  const text = (await getWebsite(server, 'site-empty')).text
  assert.ok(text.includes('<IndexDocument><Suffix></Suffix></IndexDocument><ErrorDocument><Key></Key></ErrorDocument>'), text)
  assert.ok(text.includes('<MirrorHeaders><PassAll>false</PassAll></MirrorHeaders>'), text)
  assert.equal((await putWebsite(server, 'site-empty', '<WebsiteConfiguration><RoutingRules/></WebsiteConfiguration>')).status, 200)
})

void test('Website operations need the owner: an anonymous request is AccessDenied', async (t) => {
  const server = await startTestServer(t)
  await bucketOn(server, 'site-anon')
  const res = await raw(server, { method: 'PUT', path: '/site-anon?website', body: withRules(mirrorRule(1)) })
  assertError(res, 403, 'AccessDenied')
  assertError(await raw(server, { path: '/site-anon?website' }), 403, 'AccessDenied')
})
