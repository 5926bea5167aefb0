import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { describe, it, type TestContext } from 'node:test'
import { MIRROR_EC, MirrorFailure, type MirrorFailureReason } from '../../src/mirror/failures.js'
import { MAX_REDIRECTS, OriginClient, type OriginClientOptions, type OriginRequest, type OriginResult } from '../../src/mirror/origin.js'
import { isRefusedAddress } from '../../src/mirror/ssrf.js'
import { DEFAULT_BODY, bigByte, refusedPort, startOrigin, type TestOrigin } from '../support/origin.js'

function client(t: TestContext, options: Partial<OriginClientOptions> = {}): OriginClient {
  const c = new OriginClient({ connectTimeoutMs: 2000, readTimeoutMs: 2000, allowPrivate: true, ...options })
  t.after(() => c.close())
  return c
}

function request(primaryUrl: string, overrides: Partial<OriginRequest> = {}): OriginRequest {
  return {
    primaryUrl,
    secondaryUrl: undefined,
    switchAllErrors: false,
    headers: { 'user-agent': 'Mirrorstore/test', 'accept-encoding': 'identity' },
    followRedirects: true,
    transparentCodes: new Set(),
    signal: AbortSignal.timeout(20_000),
    ...overrides,
  }
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function expectBody(result: OriginResult): Extract<OriginResult, { kind: 'body' }> {
  assert.equal(result.kind, 'body')
  return result
}

/** Asserts a MirrorFailure with this reason and EC (undefined = none). */
function isFailure(reason: MirrorFailureReason, ec?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof MirrorFailure, `expected MirrorFailure, got ${String(err)}`)
    assert.equal(err.reason, reason, err.message)
    assert.equal(err.ec, ec, err.message)
    return true
  }
}

async function bodyOf(t: TestContext, origin: TestOrigin, path: string, options: Partial<OriginClientOptions> = {}): Promise<Buffer> {
  const result = expectBody(await client(t, options).fetch(request(`${origin.url}${path}`)))
  return readAll(result.body)
}

void describe('OriginClient success', () => {
  void it('returns a 200 body with its headers and declared length', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/a.txt', {
      mode: 'ok',
      contentMd5: true,
      headers: { 'content-type': 'text/plain', 'x-oss-meta-color': 'red', 'set-cookie': ['a=1', 'b=2'], 'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT' },
    })
    const result = expectBody(await client(t).fetch(request(`${origin.url}/a.txt`)))
    assert.equal(result.status, 200)
    assert.equal(result.contentLength, Buffer.byteLength(DEFAULT_BODY))
    assert.equal(result.headers['content-type'], 'text/plain')
    assert.equal(result.headers['x-oss-meta-color'], 'red')
    assert.deepEqual(result.headers['set-cookie'], ['a=1', 'b=2'])
    assert.equal(result.finalUrl, `${origin.url}/a.txt`)
    assert.equal(result.attempts.length, 1)
    assert.equal(result.attempts[0]?.status, 200)
    assert.equal((await readAll(result.body)).toString(), DEFAULT_BODY)
    assert.equal(origin.hits('/a.txt'), 1)
  })

  void it('sends the given headers, its own Host, and never a client Host', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/h', 'ok')
    const result = await client(t).fetch(request(`${origin.url}/h?x=1`, { headers: { host: 'evil.example', 'x-tenant': 't1' } }))
    await readAll(expectBody(result).body)
    const seen = origin.requests('/h')[0]
    assert.equal(seen?.headers.host, `127.0.0.1:${origin.port}`)
    assert.equal(seen?.headers['x-tenant'], 't1')
    assert.equal(seen?.url, '/h?x=1')
    assert.equal(result.attempts[0]?.url, `${origin.url}/h`, 'attempt URLs carry no query')
  })

  void it('returns a chunked body with no declared length', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/c', { mode: 'chunked', body: 'chunk by chunk body' })
    const result = expectBody(await client(t).fetch(request(`${origin.url}/c`)))
    assert.equal(result.contentLength, undefined)
    assert.equal((await readAll(result.body)).toString(), 'chunk by chunk body')
  })

  void it('accepts a 206 whose Content-Range covers the whole object', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/w', { mode: 'whole-206', body: 'whole' })
    const result = expectBody(await client(t).fetch(request(`${origin.url}/w`)))
    assert.equal(result.status, 206)
    assert.equal(result.contentLength, 5)
    assert.equal((await readAll(result.body)).toString(), 'whole')
  })

  void it('streams a large generated body intact', async (t) => {
    const origin = await startOrigin(t)
    const size = 3 * 1024 * 1024 + 17
    origin.setRoute('/big', { mode: 'big', size })
    const result = expectBody(await client(t).fetch(request(`${origin.url}/big`)))
    assert.equal(result.contentLength, size)
    let n = 0
    for await (const chunk of result.body) {
      for (const byte of chunk as Buffer) {
        if (byte !== bigByte(n)) assert.fail(`byte ${n} differs`)
        n++
      }
    }
    assert.equal(n, size)
  })

  void it('reuses the connection for consecutive fetches from one origin', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/r', 'ok')
    const c = client(t)
    for (let i = 0; i < 3; i++) await readAll(expectBody(await c.fetch(request(`${origin.url}/r`))).body)
    const ports = new Set(origin.requests('/r').map((r) => r.remotePort))
    assert.equal(origin.hits('/r'), 3)
    assert.equal(ports.size, 1)
  })
})

void describe('OriginClient statuses (B5)', () => {
  void it('fails a 206 that is not the whole object with EC 0041-00000103', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/p', 'partial-206')
    await assert.rejects(client(t).fetch(request(`${origin.url}/p`)), isFailure('config_failed', MIRROR_EC.badRange))
  })

  void it('fails an unlisted 404 with message 1 and no EC', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/n', '404')
    await assert.rejects(client(t).fetch(request(`${origin.url}/n`)), isFailure('config_failed'))
  })

  for (const status of [204, 304, 400, 403, 418, 500, 503]) {
    void it(`fails status ${status} with EC 0041-00000101`, async (t) => {
      const origin = await startOrigin(t)
      origin.setRoute('/s', `status:${status}`)
      await assert.rejects(client(t).fetch(request(`${origin.url}/s`)), (err: unknown) => {
        isFailure('config_failed', MIRROR_EC.status)(err)
        assert.equal((err as MirrorFailure).status, status)
        return true
      })
    })
  }

  void it('passes a listed 4xx through with its status, Content-Type and body', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/t', { mode: 'status', status: 403, body: 'go away', headers: { 'content-type': 'text/plain' } })
    const result = await client(t).fetch(request(`${origin.url}/t`, { transparentCodes: new Set([403, 404]) }))
    assert.equal(result.kind, 'transparent')
    if (result.kind !== 'transparent') return
    assert.equal(result.status, 403)
    assert.equal(result.contentType, 'text/plain')
    assert.equal(result.body.toString(), 'go away')
  })

  void it('passes a listed 404 through', async (t) => {
    const origin = await startOrigin(t)
    const result = await client(t).fetch(request(`${origin.url}/unrouted`, { transparentCodes: new Set([404]) }))
    assert.equal(result.kind, 'transparent')
    assert.equal(result.kind === 'transparent' ? result.body.toString() : '', 'not found')
  })

  void it('ignores listed statuses that are not 4xx or 5xx', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/s', 'status:204')
    await assert.rejects(client(t).fetch(request(`${origin.url}/s`, { transparentCodes: new Set([204]) })), isFailure('config_failed', MIRROR_EC.status))
  })

  void it('fails a listed status whose body is over 1 MiB', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/t', { mode: 'status', status: 410, body: Buffer.alloc(1024 * 1024 + 1) })
    await assert.rejects(client(t).fetch(request(`${origin.url}/t`, { transparentCodes: new Set([410]) })), isFailure('config_failed'))
  })

  void it('fails a declared size over the 5 GiB object maximum before reading', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/huge', { mode: 'big', size: 5 * 1024 ** 3 + 1 })
    await assert.rejects(client(t).fetch(request(`${origin.url}/huge`)), isFailure('config_failed'))
  })
})

void describe('OriginClient redirects', () => {
  void it(`follows a chain of ${MAX_REDIRECTS} redirects`, async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/chain', { mode: 'redirect', hops: MAX_REDIRECTS })
    const result = expectBody(await client(t).fetch(request(`${origin.url}/chain`)))
    assert.equal((await readAll(result.body)).toString(), DEFAULT_BODY)
    assert.equal(result.finalUrl, `${origin.url}/chain?hop=${MAX_REDIRECTS}`)
    assert.equal(result.attempts.length, MAX_REDIRECTS + 1)
    assert.equal(origin.hits('/chain'), MAX_REDIRECTS + 1)
  })

  void it(`fails the ${MAX_REDIRECTS + 1}th redirect`, async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/chain', { mode: 'redirect', hops: MAX_REDIRECTS + 1 })
    await assert.rejects(client(t).fetch(request(`${origin.url}/chain`)), isFailure('config_failed'))
    assert.equal(origin.hits('/chain'), MAX_REDIRECTS + 1)
  })

  void it('fails a redirect loop', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/loop', 'redirect-loop')
    await assert.rejects(client(t).fetch(request(`${origin.url}/loop`)), isFailure('config_failed'))
  })

  for (const status of [301, 303, 307, 308]) {
    void it(`follows ${status} with GET`, async (t) => {
      const origin = await startOrigin(t)
      origin.setRoute('/r', { mode: 'redirect', hops: 1, status })
      assert.equal((await bodyOf(t, origin, '/r')).toString(), DEFAULT_BODY)
    })
  }

  void it('follows a relative Location to another path, with the same headers', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/dir/from', { mode: 'redirect-to', location: '../to' })
    origin.setRoute('/to', 'ok')
    const result = await client(t).fetch(request(`${origin.url}/dir/from`, { headers: { 'x-tenant': 't1' } }))
    assert.equal((await readAll(expectBody(result).body)).toString(), DEFAULT_BODY)
    assert.equal(origin.requests('/to')[0]?.headers['x-tenant'], 't1')
  })

  void it('follows a Location to another origin, updating Host', async (t) => {
    const a = await startOrigin(t)
    const b = await startOrigin(t)
    a.setRoute('/x', { mode: 'redirect-to', location: `${b.url}/y` })
    b.setRoute('/y', 'ok')
    assert.equal((await bodyOf(t, a, '/x')).toString(), DEFAULT_BODY)
    assert.equal(b.requests('/y')[0]?.headers.host, `127.0.0.1:${b.port}`)
  })

  void it('fails a Location that is not http(s)', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/x', { mode: 'redirect-to', location: 'ftp://127.0.0.1/file' })
    await assert.rejects(client(t).fetch(request(`${origin.url}/x`)), isFailure('config_failed'))
  })

  void it('returns the origin Location when following is off', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/x', { mode: 'redirect-to', location: '/elsewhere?q=1', status: 301 })
    const result = await client(t).fetch(request(`${origin.url}/x`, { followRedirects: false }))
    assert.deepEqual({ ...result, attempts: [] }, { kind: 'redirect', location: '/elsewhere?q=1', attempts: [] })
    assert.equal(origin.hits('/elsewhere'), 0)
  })
})

void describe('OriginClient failover (B4)', () => {
  void it('switches to the secondary on a 5xx', async (t) => {
    const a = await startOrigin(t)
    const b = await startOrigin(t)
    a.setRoute('/k', '500')
    b.setRoute('/k', 'ok')
    const result = expectBody(await client(t).fetch(request(`${a.url}/k`, { secondaryUrl: `${b.url}/k` })))
    assert.equal((await readAll(result.body)).toString(), DEFAULT_BODY)
    assert.deepEqual(
      result.attempts.map((x) => x.status),
      [500, 200],
    )
  })

  void it('switches to the secondary when the primary refuses the connection', async (t) => {
    const port = await refusedPort()
    const b = await startOrigin(t)
    b.setRoute('/k', 'ok')
    const result = expectBody(await client(t).fetch(request(`http://127.0.0.1:${port}/k`, { secondaryUrl: `${b.url}/k` })))
    assert.equal((await readAll(result.body)).toString(), DEFAULT_BODY)
    assert.equal(result.attempts[0]?.error, 'ECONNREFUSED')
  })

  void it('switches when the primary times out waiting for headers', async (t) => {
    const a = await startOrigin(t)
    const b = await startOrigin(t)
    a.setRoute('/k', 'delay-headers:5000')
    b.setRoute('/k', 'ok')
    const result = expectBody(await client(t, { readTimeoutMs: 200 }).fetch(request(`${a.url}/k`, { secondaryUrl: `${b.url}/k` })))
    assert.equal(result.attempts[0]?.error, 'UND_ERR_HEADERS_TIMEOUT')
    await readAll(result.body)
  })

  void it('switches when the primary redirects too often', async (t) => {
    const a = await startOrigin(t)
    const b = await startOrigin(t)
    a.setRoute('/k', 'redirect-loop')
    b.setRoute('/k', 'ok')
    await readAll(expectBody(await client(t).fetch(request(`${a.url}/k`, { secondaryUrl: `${b.url}/k` }))).body)
    assert.equal(b.hits('/k'), 1)
  })

  void it('never switches on a 404', async (t) => {
    const a = await startOrigin(t)
    const b = await startOrigin(t)
    b.setRoute('/k', 'ok')
    await assert.rejects(client(t).fetch(request(`${a.url}/k`, { secondaryUrl: `${b.url}/k`, switchAllErrors: true })), isFailure('config_failed'))
    assert.equal(b.hits('/k'), 0)
  })

  void it('does not switch on a 4xx unless MirrorSwitchAllErrors', async (t) => {
    const a = await startOrigin(t)
    const b = await startOrigin(t)
    a.setRoute('/k', 'status:403')
    b.setRoute('/k', 'ok')
    await assert.rejects(client(t).fetch(request(`${a.url}/k`, { secondaryUrl: `${b.url}/k` })), isFailure('config_failed', MIRROR_EC.status))
    assert.equal(b.hits('/k'), 0)
    const result = await client(t).fetch(request(`${a.url}/k`, { secondaryUrl: `${b.url}/k`, switchAllErrors: true }))
    await readAll(expectBody(result).body)
    assert.equal(b.hits('/k'), 1)
  })

  void it('never switches once the body has started', async (t) => {
    const a = await startOrigin(t)
    const b = await startOrigin(t)
    a.setRoute('/k', 'reset-mid-body')
    b.setRoute('/k', 'ok')
    const result = expectBody(await client(t).fetch(request(`${a.url}/k`, { secondaryUrl: `${b.url}/k` })))
    await assert.rejects(readAll(result.body), isFailure('read_body_failed'))
    assert.equal(b.hits('/k'), 0)
  })

  void it('lets the secondary decide when both fail', async (t) => {
    const a = await startOrigin(t)
    const b = await startOrigin(t)
    a.setRoute('/k', '500')
    b.setRoute('/k', 'partial-206')
    await assert.rejects(client(t).fetch(request(`${a.url}/k`, { secondaryUrl: `${b.url}/k` })), isFailure('config_failed', MIRROR_EC.badRange))
  })
})

void describe('OriginClient transport failures before headers', () => {
  void it('fails a refused connection with EC 0041-00000104', async (t) => {
    const port = await refusedPort()
    await assert.rejects(client(t).fetch(request(`http://127.0.0.1:${port}/k`)), isFailure('config_failed', MIRROR_EC.unreachable))
  })

  void it('fails a header timeout with EC 0041-00000104', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/k', 'delay-headers:5000')
    await assert.rejects(client(t, { readTimeoutMs: 150 }).fetch(request(`${origin.url}/k`)), isFailure('config_failed', MIRROR_EC.unreachable))
  })

  void it('fails a connect timeout (covering DNS) with EC 0041-00000104', async (t) => {
    // A resolver that never answers (its timer only keeps the event loop alive, as getaddrinfo would).
    let hold: NodeJS.Timeout | undefined
    t.after(() => clearTimeout(hold))
    const never = () => new Promise<never>(() => (hold = setTimeout(() => undefined, 30_000)))
    const c = client(t, { connectTimeoutMs: 150, allowPrivate: false, resolve: never })
    await assert.rejects(c.fetch(request('http://never.test/k')), (err: unknown) => {
      isFailure('config_failed', MIRROR_EC.unreachable)(err)
      assert.equal(((err as MirrorFailure).cause as { code?: string }).code, 'UND_ERR_CONNECT_TIMEOUT')
      return true
    })
  })

  void it('fails a name that does not resolve with EC 0041-00000106', async (t) => {
    const enotfound = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' })
    const c = client(t, { allowPrivate: false, resolve: () => Promise.reject(enotfound) })
    await assert.rejects(c.fetch(request('http://nowhere.invalid/k')), isFailure('config_failed', MIRROR_EC.dns))
  })

  void it('fails a TLS handshake with EC 0041-00000104', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/k', 'ok')
    await assert.rejects(client(t).fetch(request(`https://127.0.0.1:${origin.port}/k`)), isFailure('config_failed', MIRROR_EC.unreachable))
  })

  void it('hands back the abort reason, not a MirrorFailure, when the signal aborts', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/k', 'delay-headers:5000')
    const controller = new AbortController()
    const pending = client(t).fetch(request(`${origin.url}/k`, { signal: controller.signal }))
    setTimeout(() => controller.abort(new Error('client left')), 50)
    await assert.rejects(pending, { message: 'client left' })
  })
})

void describe('OriginClient SSRF guard (B4)', () => {
  void it('warmUp requests its own loopback responder without opening the guard: a loopback origin is still refused and never reached', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/k', 'ok')
    const c = client(t, { allowPrivate: false })
    await c.warmUp()
    await assert.rejects(c.fetch(request(`${origin.url}/k`)), isFailure('config_failed', MIRROR_EC.privateAddress))
    assert.equal(origin.hits('/k'), 0)
    const allowed = client(t)
    await allowed.warmUp()
    assert.equal((await readAll(expectBody(await allowed.fetch(request(`${origin.url}/k`))).body)).toString(), DEFAULT_BODY)
    assert.equal(origin.hits('/k'), 1)
  })

  void it('refuses a loopback origin with EC 0041-00000108 and never connects', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/k', 'ok')
    await assert.rejects(client(t, { allowPrivate: false }).fetch(request(`${origin.url}/k`)), isFailure('config_failed', MIRROR_EC.privateAddress))
    assert.equal(origin.hits('/k'), 0)
  })

  void it('refuses localhost by name after resolving it', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/k', 'ok')
    await assert.rejects(client(t, { allowPrivate: false }).fetch(request(`http://localhost:${origin.port}/k`)), isFailure('config_failed', MIRROR_EC.privateAddress))
    assert.equal(origin.hits('/k'), 0)
  })

  /** The test origin's own address is exempt, so the guard can be seen refusing a later hop. */
  const exemptOrigin = (address: string): boolean => address !== '127.0.0.1' && isRefusedAddress(address)

  void it('refuses a redirect hop to a private literal address', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/k', { mode: 'redirect-to', location: `http://127.0.0.2:${origin.port}/k2` })
    const c = client(t, { allowPrivate: false, refuseAddress: exemptOrigin })
    await assert.rejects(c.fetch(request(`${origin.url}/k`)), isFailure('config_failed', MIRROR_EC.privateAddress))
    assert.equal(origin.hits('/k'), 1)
  })

  void it('refuses a redirect hop to a name with any private answer, and connects to the vetted address', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/k', { mode: 'redirect-to', location: `http://mixed.test:${origin.port}/k2` })
    origin.setRoute('/ok', { mode: 'redirect-to', location: `http://good.test:${origin.port}/k2` })
    origin.setRoute('/k2', 'ok')
    const c = client(t, {
      allowPrivate: false,
      refuseAddress: exemptOrigin,
      resolve: (name) =>
        Promise.resolve(
          name === 'mixed.test'
            ? [
                { address: '127.0.0.1', family: 4 as const },
                { address: '10.1.2.3', family: 4 as const },
              ]
            : [{ address: '127.0.0.1', family: 4 as const }],
        ),
    })
    await assert.rejects(c.fetch(request(`${origin.url}/k`)), isFailure('config_failed', MIRROR_EC.privateAddress))
    assert.equal(origin.hits('/k2'), 0)
    const result = expectBody(await c.fetch(request(`${origin.url}/ok`)))
    await readAll(result.body)
    assert.equal(origin.requests('/k2')[0]?.headers.host, `good.test:${origin.port}`, 'the name stays in Host')
  })

  void it('switches to the secondary when the primary is refused by the guard', async (t) => {
    const b = await startOrigin(t)
    b.setRoute('/k', 'ok')
    const c = client(t, { allowPrivate: false, refuseAddress: exemptOrigin })
    const result = expectBody(await c.fetch(request(`http://10.0.0.1/k`, { secondaryUrl: `${b.url}/k` })))
    await readAll(result.body)
    assert.equal(result.attempts[0]?.error, 'MIRROR_SSRF_REFUSED')
  })
})

void describe('OriginClient body failures (B6 messages 2 and 3)', () => {
  for (const connectionClose of [false, true]) {
    const how = connectionClose ? ' (Connection: close)' : ''
    void it(`reports a reset mid-body as read_body_failed${how}`, async (t) => {
      const origin = await startOrigin(t)
      origin.setRoute('/k', { mode: 'reset-mid-body', size: 100, after: 10, connectionClose })
      await assert.rejects(bodyOf(t, origin, '/k'), isFailure('read_body_failed'))
    })

    void it(`reports a reset mid chunked body as read_body_failed${how}`, async (t) => {
      const origin = await startOrigin(t)
      origin.setRoute('/k', { mode: 'reset-mid-body', chunked: true, after: 10, connectionClose })
      await assert.rejects(bodyOf(t, origin, '/k'), isFailure('read_body_failed'))
    })

    void it(`reports a clean close before Content-Length as bytes_mismatch${how}`, async (t) => {
      const origin = await startOrigin(t)
      origin.setRoute('/k', { mode: 'short-body', declared: 10, send: 3, connectionClose })
      await assert.rejects(bodyOf(t, origin, '/k'), isFailure('bytes_mismatch'))
    })

    if (connectionClose) {
      void it('passes exactly Content-Length bytes when more follow a Connection: close response (known limit)', async (t) => {
        const origin = await startOrigin(t)
        origin.setRoute('/k', { mode: 'long-body', declared: 10, send: 20, connectionClose })
        assert.equal((await bodyOf(t, origin, '/k')).length, 10)
      })
    } else {
      void it('reports more bytes than Content-Length as bytes_mismatch', async (t) => {
        const origin = await startOrigin(t)
        origin.setRoute('/k', { mode: 'long-body', declared: 10, send: 20 })
        await assert.rejects(bodyOf(t, origin, '/k'), isFailure('bytes_mismatch'))
      })
    }

    void it(`reports a chunked body without its last chunk as read_body_failed${how}`, async (t) => {
      const origin = await startOrigin(t)
      origin.setRoute('/k', { mode: 'chunked-truncated', connectionClose })
      await assert.rejects(bodyOf(t, origin, '/k'), isFailure('read_body_failed'))
    })
  }

  void it('keeps a body failure for the reader that starts after it happened (no uncaught error)', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/k', { mode: 'short-body', declared: 100, send: 10, connectionClose: true })
    const result = expectBody(await client(t).fetch(request(`${origin.url}/k`)))
    // The engine awaits its staging file before reading: the FIN lands while nobody listens.
    await new Promise((r) => setTimeout(r, origin.holdMs + 200))
    await assert.rejects(readAll(result.body), isFailure('bytes_mismatch'))
  })

  void it('tells FIN from RST by the socket when undici reports both as a length mismatch (Connection: close)', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/rst', { mode: 'reset-mid-body', size: 100, after: 10, connectionClose: true })
    origin.setRoute('/fin', { mode: 'short-body', declared: 100, send: 10, connectionClose: true })
    const failure = async (path: string): Promise<MirrorFailure> => {
      try {
        await bodyOf(t, origin, path)
      } catch (err) {
        assert.ok(err instanceof MirrorFailure)
        return err
      }
      return assert.fail('expected a failure')
    }
    const [rst, fin] = [await failure('/rst'), await failure('/fin')]
    const causeCode = (f: MirrorFailure): unknown => (f.cause as { code?: unknown }).code
    assert.equal(causeCode(rst), 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH')
    assert.equal(causeCode(fin), 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH')
    assert.equal(rst.reason, 'read_body_failed')
    assert.equal(fin.reason, 'bytes_mismatch')
  })

  void it('reports silence past the read timeout as read_body_failed', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/k', 'stall-mid-body')
    await assert.rejects(bodyOf(t, origin, '/k', { readTimeoutMs: 200 }), isFailure('read_body_failed'))
  })

  void it('keeps reading a slow body whose gaps stay under the read timeout', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/k', { mode: 'slow', body: 'drip-drip', delayMs: 20 })
    assert.equal((await bodyOf(t, origin, '/k', { readTimeoutMs: 1000 })).toString(), 'drip-drip')
  })

  void it('keeps serving the next request after a failed body', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/bad', 'short-body')
    origin.setRoute('/good', 'ok')
    const c = client(t)
    await assert.rejects(readAll(expectBody(await c.fetch(request(`${origin.url}/bad`))).body), isFailure('bytes_mismatch'))
    assert.equal((await readAll(expectBody(await c.fetch(request(`${origin.url}/good`))).body)).toString(), DEFAULT_BODY)
  })

  void it('releases the origin when the caller destroys the body early', async (t) => {
    const origin = await startOrigin(t)
    origin.setRoute('/big', { mode: 'big', size: 8 * 1024 * 1024 })
    origin.setRoute('/ok', 'ok')
    const c = client(t)
    const result = expectBody(await c.fetch(request(`${origin.url}/big`)))
    result.body.destroy()
    const digest = createHash('md5').update(await readAll(expectBody(await c.fetch(request(`${origin.url}/ok`))).body)).digest('hex')
    assert.equal(digest, createHash('md5').update(DEFAULT_BODY).digest('hex'))
  })
})
