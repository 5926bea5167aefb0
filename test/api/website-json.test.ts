import assert from 'node:assert/strict'
import { test } from 'node:test'
import { websiteJsonToXml, websiteXmlToJson, WebsiteJsonError } from '../../src/api/xml/website-json.js'
import { readWebsite } from '../../src/api/xml/website.js'

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

void test('websiteJsonToXml writes an array of rules as RoutingRules, repeating array elements and escaping text', () => {
  const xml = websiteJsonToXml([
    {
      RuleNumber: 1,
      Condition: { KeyPrefixEquals: 'a<b>&c', IncludeHeader: [{ Key: 'x', Equals: '1' }, { Key: 'y' }] },
      Redirect: { RedirectType: 'Mirror', MirrorURL: 'https://o.example/', MirrorCheckMd5: true, MirrorHeaders: { Pass: ['p1', 'p2'] } },
    },
  ])
  assert.equal(
    xml,
    `${DECL}<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><KeyPrefixEquals>a&lt;b&gt;&amp;c</KeyPrefixEquals>` +
      '<IncludeHeader><Key>x</Key><Equals>1</Equals></IncludeHeader><IncludeHeader><Key>y</Key></IncludeHeader></Condition>' +
      '<Redirect><RedirectType>Mirror</RedirectType><MirrorURL>https://o.example/</MirrorURL><MirrorCheckMd5>true</MirrorCheckMd5>' +
      '<MirrorHeaders><Pass>p1</Pass><Pass>p2</Pass></MirrorHeaders></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>',
  )
  // The server accepts what it writes.
  assert.equal(readWebsite(xml).rules.length, 1)
})

void test('websiteJsonToXml takes an object of WebsiteConfiguration children, wrapped or not', () => {
  const inner = { ErrorDocument: { Key: '404.html' }, RoutingRules: [{ RuleNumber: 2 }] }
  const expected = `${DECL}<WebsiteConfiguration><ErrorDocument><Key>404.html</Key></ErrorDocument><RoutingRules><RoutingRule><RuleNumber>2</RuleNumber></RoutingRule></RoutingRules></WebsiteConfiguration>`
  assert.equal(websiteJsonToXml(inner), expected)
  assert.equal(websiteJsonToXml({ WebsiteConfiguration: inner }), expected)
  assert.equal(websiteJsonToXml({ RoutingRules: { RoutingRule: [{ RuleNumber: 2 }] } }), `${DECL}<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>2</RuleNumber></RoutingRule></RoutingRules></WebsiteConfiguration>`)
})

void test('websiteJsonToXml refuses JSON that cannot be written as XML, naming the place', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['rules', /expected an array of RoutingRule objects/],
    [[1], /rules\[0\] is not a RoutingRule object/],
    [[{ RuleNumber: null }], /rules\[0\]\.RuleNumber is null/],
    [[{ Condition: { 'bad name': 'x' } }], /"bad name" at rules\[0\]\.Condition\.bad name is not an element name/],
    [[{ Redirect: { Pass: [['x']] } }], /rules\[0\]\.Redirect\.Pass\[0\] is an array inside an array/],
  ]
  for (const [value, message] of cases) assert.throws(() => websiteJsonToXml(value), (err: unknown) => err instanceof WebsiteJsonError && message.test(err.message))
})

void test('websiteXmlToJson gives the rule array with typed values and arrays for repeating elements; set again it stores the same document', () => {
  const stored = readWebsite(
    websiteJsonToXml([
      { RuleNumber: 3, Condition: { HttpErrorCodeReturnedEquals: 404 }, Redirect: { RedirectType: 'Mirror', MirrorURL: 'https://o.example/', MirrorHeaders: { Pass: ['only'] } } },
    ]),
  ).xml
  const json = websiteXmlToJson(stored)
  assert.deepEqual(json, [
    {
      RuleNumber: 3,
      Condition: { HttpErrorCodeReturnedEquals: 404 },
      Redirect: {
        RedirectType: 'Mirror',
        PassQueryString: false,
        MirrorURL: 'https://o.example/',
        MirrorPassQueryString: false,
        MirrorFollowRedirect: true,
        MirrorCheckMd5: false,
        MirrorHeaders: { PassAll: false, Pass: ['only'] },
      },
    },
  ])
  assert.equal(readWebsite(websiteJsonToXml(json)).xml, stored)
})

void test('websiteXmlToJson keeps other containers as an object, RoutingRules as an array', () => {
  const stored = readWebsite(`<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><KeyPrefixEquals>007</KeyPrefixEquals></Condition><Redirect><RedirectType>External</RedirectType></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`).xml
  assert.deepEqual(websiteXmlToJson(stored), {
    IndexDocument: { Suffix: 'index.html' },
    RoutingRules: [{ RuleNumber: 1, Condition: { KeyPrefixEquals: '007' }, Redirect: { RedirectType: 'External' } }],
  })
})
