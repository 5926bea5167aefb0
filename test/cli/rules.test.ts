/**
 * `mirrorstore rules set|get|delete`: the built CLI as a child process against a server started in
 * process, checked through raw signed requests.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { cleanEnv, runCli, type CliResult } from '../support/cli-run.js'
import { refusedPort, startOrigin } from '../support/origin.js'
import { assertOssError } from '../support/oss-assert.js'
import { signed } from '../support/raw.js'
import { tempDir as makeTempDir, type Hooks } from '../support/temp-dir.js'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET, startTestServer, type TestServer } from '../support/server.js'

const tempDir = (t: Hooks): Promise<string> => makeTempDir(t, 'mirrorstore-cli-')

async function withBucket(t: Hooks, options: { mirrorAllowPrivate?: boolean } = {}): Promise<TestServer> {
  const server = await startTestServer(t, options)
  const put = await signed(server, 'PUT', 'demo', undefined)
  assert.equal(put.status, 200, put.text)
  return server
}

function getWebsite(server: TestServer): ReturnType<typeof signed> {
  return signed(server, 'GET', 'demo', undefined, { query: 'website', subresources: { website: '' } })
}

function rules(server: TestServer, ...args: string[]): Promise<CliResult> {
  return runCli(['rules', ...args, '--endpoint', server.url])
}

/** Exactly one line on stderr, `mirrorstore: <text>`. */
function assertOneLine(res: CliResult, pattern: RegExp): void {
  assert.notEqual(res.code, 0, `exit code 0, stdout ${res.stdout}`)
  const lines = res.stderr.split('\n').filter((l) => l !== '')
  assert.equal(lines.length, 1, res.stderr)
  assert.match(lines[0] ?? '', pattern)
}

const XML_RULES = (url: string): string =>
  `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${url}</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`

const JSON_RULES = [
  {
    RuleNumber: 1,
    Condition: { KeyPrefixEquals: 'img/', HttpErrorCodeReturnedEquals: 404 },
    Redirect: {
      RedirectType: 'Mirror',
      MirrorURL: 'https://old.example.com/',
      MirrorHeaders: { PassAll: false, Pass: ['x-a', 'x-b'], Set: [{ Key: 'k', Value: 'v & w' }] },
    },
  },
]

void test('rules set sends an XML file as is and the server stores it', async (t) => {
  const server = await withBucket(t)
  const dir = await tempDir(t)
  const file = join(dir, 'rules.xml')
  await writeFile(file, XML_RULES('https://origin.example.com/'))
  const res = await rules(server, 'set', 'demo', file)
  assert.equal(res.code, 0, res.stderr)
  assert.equal(res.stderr, '')
  const got = await getWebsite(server)
  assert.equal(got.status, 200)
  assert.match(got.text, /<MirrorURL>https:\/\/origin\.example\.com\/<\/MirrorURL>/)
})

void test('rules set converts the JSON form: arrays repeat elements, numbers and booleans become text', async (t) => {
  const server = await withBucket(t)
  const dir = await tempDir(t)
  const file = join(dir, 'rules.json')
  await writeFile(file, JSON.stringify(JSON_RULES))
  const res = await rules(server, 'set', 'demo', file)
  assert.equal(res.code, 0, res.stderr)
  const got = await getWebsite(server)
  assert.equal(got.status, 200)
  assert.match(got.text, /<RuleNumber>1<\/RuleNumber><Condition><KeyPrefixEquals>img\/<\/KeyPrefixEquals><HttpErrorCodeReturnedEquals>404<\/HttpErrorCodeReturnedEquals><\/Condition>/)
  assert.match(got.text, /<MirrorHeaders><PassAll>false<\/PassAll><Pass>x-a<\/Pass><Pass>x-b<\/Pass><Set><Key>k<\/Key><Value>v &amp; w<\/Value><\/Set><\/MirrorHeaders>/)
})

void test('rules set accepts a JSON object with RoutingRules', async (t) => {
  const server = await withBucket(t)
  const dir = await tempDir(t)
  const file = join(dir, 'site.json')
  await writeFile(file, JSON.stringify({ IndexDocument: { Suffix: 'index.html' }, RoutingRules: JSON_RULES }))
  const res = await rules(server, 'set', 'demo', file)
  assert.equal(res.code, 0, res.stderr)
  const got = await getWebsite(server)
  assert.match(got.text, /<IndexDocument><Suffix>index\.html<\/Suffix><\/IndexDocument><RoutingRules><RoutingRule><RuleNumber>1<\/RuleNumber>/)
})

void test('rules get prints the stored XML, and --json a form rules set accepts back', async (t) => {
  const server = await withBucket(t)
  const dir = await tempDir(t)
  const file = join(dir, 'rules.json')
  await writeFile(file, JSON.stringify(JSON_RULES))
  assert.equal((await rules(server, 'set', 'demo', file)).code, 0)
  const stored = (await getWebsite(server)).text

  const xml = await rules(server, 'get', 'demo')
  assert.equal(xml.code, 0, xml.stderr)
  assert.equal(xml.stdout, `${stored}\n`)

  const json = await rules(server, 'get', 'demo', '--json')
  assert.equal(json.code, 0, json.stderr)
  const parsed = JSON.parse(json.stdout) as Array<Record<string, unknown>>
  assert.equal(parsed.length, 1)
  assert.equal(parsed[0]?.RuleNumber, 1)
  assert.deepEqual((parsed[0]?.Redirect as Record<string, unknown>).MirrorHeaders, JSON_RULES[0]?.Redirect.MirrorHeaders)

  const again = join(dir, 'again.json')
  await writeFile(again, json.stdout)
  assert.equal((await rules(server, 'set', 'demo', again)).code, 0)
  assert.equal((await getWebsite(server)).text, stored)
})

void test('rules delete removes the configuration; get then fails with the server error', async (t) => {
  const server = await withBucket(t)
  const dir = await tempDir(t)
  const file = join(dir, 'rules.xml')
  await writeFile(file, XML_RULES('https://origin.example.com/'))
  assert.equal((await rules(server, 'set', 'demo', file)).code, 0)
  const del = await rules(server, 'delete', 'demo')
  assert.equal(del.code, 0, del.stderr)
  assertOssError(await getWebsite(server), 404, 'NoSuchWebsiteConfiguration')
  assertOneLine(await rules(server, 'get', 'demo'), /^mirrorstore: NoSuchWebsiteConfiguration: The specified bucket does not have a website configuration\.$/)
})

void test('rules set with a rule the server refuses exits non-zero with its InvalidArgument and changes nothing', async (t) => {
  const server = await withBucket(t)
  const dir = await tempDir(t)
  const good = join(dir, 'good.xml')
  await writeFile(good, XML_RULES('https://origin.example.com/'))
  assert.equal((await rules(server, 'set', 'demo', good)).code, 0)
  const before = (await getWebsite(server)).text
  const bad = join(dir, 'bad.xml')
  // A MirrorURL must end with '/'.
  await writeFile(bad, XML_RULES('https://origin.example.com'))
  assertOneLine(await rules(server, 'set', 'demo', bad), /^mirrorstore: InvalidArgument: \S/)
  assert.equal((await getWebsite(server)).text, before)
})

void test('rules set on a missing bucket prints NoSuchBucket', async (t) => {
  const server = await startTestServer(t)
  const dir = await tempDir(t)
  const file = join(dir, 'rules.xml')
  await writeFile(file, XML_RULES('https://origin.example.com/'))
  assertOneLine(await rules(server, 'set', 'nobucket', file), /^mirrorstore: NoSuchBucket: The specified bucket does not exist\.$/)
})

void test('rules set with a missing file, bad JSON or unwritable JSON is a one-line error', async (t) => {
  const server = await withBucket(t)
  const dir = await tempDir(t)
  assertOneLine(await rules(server, 'set', 'demo', join(dir, 'absent.json')), /^mirrorstore: Cannot read ".*absent\.json": no such file$/)
  const broken = join(dir, 'broken.json')
  await writeFile(broken, '[{"RuleNumber": 1,')
  assertOneLine(await rules(server, 'set', 'demo', broken), /^mirrorstore: Invalid JSON in ".*broken\.json": /)
  const nulls = join(dir, 'nulls.json')
  await writeFile(nulls, '[{"RuleNumber": null}]')
  assertOneLine(await rules(server, 'set', 'demo', nulls), /^mirrorstore: Invalid rules in ".*nulls\.json": rules\[0\]\.RuleNumber is null$/)
  assertOssError(await getWebsite(server), 404, 'NoSuchWebsiteConfiguration')
})

void test('rules get against a closed port is a one-line error naming the endpoint', async () => {
  const port = await refusedPort()
  const res = await runCli(['rules', 'get', 'demo', '--endpoint', `http://127.0.0.1:${port}`])
  assertOneLine(res, new RegExp(`^mirrorstore: Cannot reach "http://127\\.0\\.0\\.1:${port}": ECONNREFUSED$`))
})

void test('rules reads credentials from --data credentials.json when the environment has none', async (t) => {
  const server = await withBucket(t)
  const dir = await tempDir(t)
  const env = cleanEnv()
  const none = await runCli(['rules', 'get', 'demo', '--endpoint', server.url, '--data', dir], { env })
  assert.equal(none.code, 2)
  assertOneLine(none, /^mirrorstore: No credentials: set MIRRORSTORE_ACCESS_KEY_ID and MIRRORSTORE_ACCESS_KEY_SECRET/)
  await writeFile(join(dir, 'credentials.json'), JSON.stringify({ accessKeyId: ACCESS_KEY_ID, accessKeySecret: ACCESS_KEY_SECRET, ownerId: '1' }))
  const file = join(dir, 'rules.xml')
  await writeFile(file, XML_RULES('https://origin.example.com/'))
  const set = await runCli(['rules', 'set', 'demo', file, '--endpoint', server.url, '--data', dir], { env })
  assert.equal(set.code, 0, set.stderr)
  assert.equal((await getWebsite(server)).status, 200)
  const wrong = await runCli(['rules', 'get', 'demo', '--endpoint', server.url], {
    env: cleanEnv({ MIRRORSTORE_ACCESS_KEY_ID: ACCESS_KEY_ID, MIRRORSTORE_ACCESS_KEY_SECRET: 'not-the-secret' }),
  })
  assertOneLine(wrong, /^mirrorstore: SignatureDoesNotMatch: /)
})

void test('rules --help lists the subcommands and each subcommand documents --endpoint', async () => {
  const group = await runCli(['rules', '--help'])
  assert.equal(group.code, 0)
  for (const sub of ['set', 'get', 'delete']) assert.match(group.stdout, new RegExp(`\\n  ${sub} `))
  for (const sub of ['set', 'get', 'delete']) {
    const help = await runCli(['rules', sub, '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /--endpoint <url>.*default: "http:\/\/127\.0\.0\.1:9000"/)
    assert.match(help.stdout, /MIRRORSTORE_ACCESS_KEY_ID/)
  }
})

void test('end to end: a rule set with the CLI makes a GET miss mirror from the origin', async (t) => {
  const origin = await startOrigin(t)
  origin.setRoute('/img/cat.png', { mode: 'ok', body: 'meow bytes', headers: { 'content-type': 'image/png' } })
  const server = await withBucket(t, { mirrorAllowPrivate: true })
  const dir = await tempDir(t)
  const file = join(dir, 'rules.json')
  await writeFile(
    file,
    JSON.stringify([{ RuleNumber: 1, Condition: { KeyPrefixEquals: 'img/', HttpErrorCodeReturnedEquals: 404 }, Redirect: { RedirectType: 'Mirror', MirrorURL: `${origin.url}/` } }]),
  )
  const set = await rules(server, 'set', 'demo', file)
  assert.equal(set.code, 0, set.stderr)

  const first = await signed(server, 'GET', 'demo', 'img/cat.png')
  assert.equal(first.status, 200, first.text)
  assert.equal(first.text, 'meow bytes')
  assert.equal(first.headers['x-oss-tag'], 'MIRROR')
  assert.equal(first.headers['content-type'], 'image/png')
  const second = await signed(server, 'GET', 'demo', 'img/cat.png')
  assert.equal(second.text, 'meow bytes')
  assert.equal(origin.hits('/img/cat.png'), 1)
  // Outside the rule's prefix: a plain miss.
  assertOssError(await signed(server, 'GET', 'demo', 'doc/a.txt'), 404, 'NoSuchKey')
  assert.equal(origin.hits('/doc/a.txt'), 0)
})
