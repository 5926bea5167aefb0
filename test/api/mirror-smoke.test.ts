import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startOrigin } from '../support/origin.js'
import { signed, xmlField } from '../support/raw.js'
import { startTestServer } from '../support/server.js'

function rules(url: string, extra = ''): string {
  return `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${url}/</MirrorURL>${extra}</Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`
}

void test('smoke: a miss is fetched, stored, then served locally', async (t) => {
  const origin = await startOrigin(t)
  origin.setRoute('/a.txt', { mode: 'ok', body: 'from origin', headers: { 'content-type': 'text/plain' } })
  origin.setRoute('/big.bin', { mode: 'big', size: 20 * 1024 * 1024 })
  origin.setRoute('/short', { mode: 'short-body', declared: 100, send: 10 })
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  assert.equal((await signed(server, 'PUT', 'mbk', undefined)).status, 200)
  const put = await signed(server, 'PUT', 'mbk', undefined, { query: 'website', subresources: { website: '' }, body: rules(origin.url) })
  assert.equal(put.status, 200, put.text)
  const first = await signed(server, 'GET', 'mbk', 'a.txt')
  assert.equal(first.status, 200, first.text)
  assert.equal(first.text, 'from origin')
  assert.equal(first.headers['x-oss-tag'], 'MIRROR')
  const second = await signed(server, 'GET', 'mbk', 'a.txt')
  assert.equal(second.text, 'from origin')
  assert.equal(origin.hits('/a.txt'), 1)
  const big = await signed(server, 'GET', 'mbk', 'big.bin')
  assert.equal(big.status, 200)
  assert.equal(big.body.length, 20 * 1024 * 1024)
  const short = await signed(server, 'GET', 'mbk', 'short')
  assert.equal(short.status, 424)
  assert.equal(xmlField(short.text, 'Message'), 'Bytes read is not equal to expected.')
  const head = await signed(server, 'HEAD', 'mbk', 'short')
  assert.equal(head.status, 404)
})
