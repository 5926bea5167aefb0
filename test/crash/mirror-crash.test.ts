/**
 * Crash during a mirror fill (mirror-rules.md B7: "a fill ends committed or discarded, never
 * partial"): the built server is SIGKILLed while a slow origin is still dripping the object, then
 * restarted on the same data directory. The key must be absent, start-up must leave no staging
 * file, and the next GET must mirror again and return the whole object.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { spawnServer, type ServerProcess } from '../support/cli-run.js'
import { v1Authorization } from '../support/object-http.js'
import { startOrigin, type TestOrigin } from '../support/origin.js'
import { assertOssError } from '../support/oss-assert.js'
import { signed } from '../support/raw.js'

interface Hooks {
  after(fn: () => Promise<void> | void): void
}

const SIZE = 256 * 1024
const BODY = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 31 + 7) % 256))
const KEY = 'slow.bin'

async function setUp(t: Hooks): Promise<{ origin: TestOrigin; dataDir: string }> {
  const origin = await startOrigin(t)
  // 64 drips of 4 KiB every 25 ms: about 1.6 s per fill, long enough to kill the server mid-way.
  origin.setRoute(`/${KEY}`, { mode: 'slow', body: BODY, chunkSize: 4096, delayMs: 25 })
  const dataDir = await mkdtemp(join(tmpdir(), 'mirrorstore-crash-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  return { origin, dataDir }
}

async function configure(server: ServerProcess, origin: TestOrigin): Promise<void> {
  assert.equal((await signed(server, 'PUT', 'crash', undefined)).status, 200)
  const rules = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${origin.url}/</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`
  const put = await signed(server, 'PUT', 'crash', undefined, { query: 'website', subresources: { website: '' }, body: rules })
  assert.equal(put.status, 200, put.text)
}

/**
 * Starts a signed GET of KEY and resolves with the bytes received once `until` holds; the request
 * keeps running (and is expected to fail when the server dies). Errors after that are swallowed.
 */
function startGet(server: ServerProcess, until: (received: number) => boolean): Promise<number> {
  const headers: Record<string, string> = { 'x-oss-date': new Date().toUTCString() }
  headers.authorization = v1Authorization('GET', 'crash', KEY, headers)
  return new Promise((resolve, reject) => {
    let received = 0
    let done = false
    const req = request({ host: '127.0.0.1', port: server.port, path: `/crash/${KEY}`, headers }, (res) => {
      if (res.statusCode !== 200) {
        done = true
        reject(new Error(`GET answered ${String(res.statusCode)}`))
      }
      res.on('data', (c: Buffer) => {
        received += c.length
        if (!done && until(received)) {
          done = true
          resolve(received)
        }
      })
      res.on('error', () => undefined)
      res.on('end', () => {
        if (!done) reject(new Error(`GET ended after ${received} bytes before the kill`))
      })
    })
    req.on('error', (err) => {
      if (!done) reject(err)
    })
    req.end()
    if (until(0)) {
      done = true
      resolve(0)
    }
  })
}

async function tmpFiles(dataDir: string): Promise<{ name: string; size: number }[]> {
  const dir = join(dataDir, 'tmp')
  const names = await readdir(dir).catch(() => [] as string[])
  return Promise.all(names.map(async (name) => ({ name, size: (await stat(join(dir, name))).size })))
}

async function waitFor(what: string, check: () => Promise<boolean>, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function killAndRestart(t: Hooks, server: ServerProcess, dataDir: string, args: readonly string[]): Promise<ServerProcess> {
  server.child.kill('SIGKILL')
  await server.exited
  // The staging file of the interrupted fill is still there: the kill did land mid-fill.
  const left = await tmpFiles(dataDir)
  assert.ok(left.length > 0 && left.some((f) => f.size > 0 && f.size < SIZE), `staging files before restart: ${JSON.stringify(left)}`)
  const again = await spawnServer(t, dataDir, args)
  assert.deepEqual(await tmpFiles(dataDir), [], 'start-up removes every staging file')
  return again
}

async function assertRefilled(server: ServerProcess, origin: TestOrigin, dataDir: string): Promise<void> {
  const absent = await signed(server, 'HEAD', 'crash', KEY)
  assert.equal(absent.status, 404)
  // HEAD carries the error document base64-encoded in x-oss-err.
  assert.match(Buffer.from(String(absent.headers['x-oss-err']), 'base64').toString('utf8'), /<Code>NoSuchKey<\/Code>/)
  // The rule survived the crash: a key the origin lacks is a mirror failure, not a plain miss.
  assertOssError(await signed(server, 'GET', 'crash', 'not-at-the-origin'), 424, 'MirrorFailed')
  const list = await signed(server, 'GET', 'crash', undefined)
  assert.equal(list.status, 200)
  assert.doesNotMatch(list.text, /<Key>/, 'no object listed after the crash')
  const hitsBefore = origin.hits(`/${KEY}`)
  const got = await signed(server, 'GET', 'crash', KEY)
  assert.equal(got.status, 200, got.text)
  assert.equal(got.headers['x-oss-tag'], 'MIRROR')
  assert.equal(got.body.length, SIZE)
  assert.ok(got.body.equals(BODY), 'the refilled object is the origin object')
  assert.equal(origin.hits(`/${KEY}`), hitsBefore + 1, 'the GET after the restart fetched the origin again')
  const head = await signed(server, 'HEAD', 'crash', KEY)
  assert.equal(head.status, 200)
  assert.equal(head.headers['content-length'], String(SIZE))
  assert.deepEqual(await tmpFiles(dataDir), [])
}

void test('SIGKILL during a streamed (read-while-fill) mirror fill leaves no object and no staging file; the next GET mirrors the whole object', { timeout: 90_000 }, async (t) => {
  const { origin, dataDir } = await setUp(t)
  // A verify limit below the object size: headers and bytes go to the client while the fill runs.
  const args = ['--mirror-allow-private', '--mirror-verify-limit', '1KiB']
  const first = await spawnServer(t, dataDir, args)
  await configure(first, origin)
  const received = await startGet(first, (n) => n >= 32 * 1024)
  assert.ok(received < SIZE)
  const second = await killAndRestart(t, first, dataDir, args)
  await assertRefilled(second, origin, dataDir)
})

void test('SIGKILL during a verify-before-serve mirror fill leaves no object and no staging file; the next GET mirrors the whole object', { timeout: 90_000 }, async (t) => {
  const { origin, dataDir } = await setUp(t)
  const args = ['--mirror-allow-private']
  const first = await spawnServer(t, dataDir, args)
  await configure(first, origin)
  // Nothing reaches the client before the object is verified: watch the staging file grow instead.
  startGet(first, () => false).catch(() => undefined)
  await waitFor('a staging file of 32 KiB', async () => (await tmpFiles(dataDir)).some((f) => f.size >= 32 * 1024))
  const second = await killAndRestart(t, first, dataDir, args)
  await assertRefilled(second, origin, dataDir)
})
