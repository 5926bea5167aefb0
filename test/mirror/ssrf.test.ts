import assert from 'node:assert/strict'
import { isIP } from 'node:net'
import { describe, it } from 'node:test'
import { SsrfRefused, checkLiteralHost, createGuardedLookup, isRefusedAddress, literalIp, resolveGuarded, type Resolver } from '../../src/mirror/ssrf.js'

const REFUSED = [
  '0.0.0.0',
  '0.255.255.255',
  '127.0.0.1',
  '127.255.255.254',
  '10.0.0.1',
  '10.255.255.255',
  '172.16.0.1',
  '172.31.255.255',
  '192.168.0.1',
  '192.168.255.255',
  '100.64.0.1',
  '100.127.255.255',
  '169.254.169.254',
  '224.0.0.1',
  '239.255.255.255',
  '255.255.255.255',
  '::',
  '::1',
  '0:0:0:0:0:0:0:1',
  'fc00::1',
  'fd12:3456:789a::1',
  'fe80::1',
  'fe80::1%eth0',
  'febf::1',
  'ff02::1',
  'ff0e::1',
  '::ffff:127.0.0.1',
  '::ffff:10.1.2.3',
  '::ffff:7f00:1',
  '::ffff:a9fe:a9fe',
  'not-an-ip',
  '',
]

const ALLOWED = [
  '1.1.1.1',
  '8.8.8.8',
  '9.255.255.255',
  '11.0.0.0',
  '100.63.255.255',
  '100.128.0.0',
  '126.255.255.255',
  '128.0.0.1',
  '169.253.255.255',
  '169.255.0.0',
  '172.15.255.255',
  '172.32.0.0',
  '192.167.255.255',
  '192.169.0.0',
  '223.255.255.255',
  '2001:4860:4860::8888',
  '2606:4700:4700::1111',
  '::ffff:8.8.8.8',
  '::ffff:808:808',
  'fbff::1',
  'fec0::1',
  'feff::1',
]

void describe('isRefusedAddress', () => {
  for (const address of REFUSED) {
    void it(`refuses "${address}"`, () => assert.equal(isRefusedAddress(address), true))
  }
  for (const address of ALLOWED) {
    void it(`allows "${address}"`, () => assert.equal(isRefusedAddress(address), false))
  }
})

void describe('literalIp and checkLiteralHost', () => {
  void it('recognises IPv4, bracketed and bare IPv6, and leaves names alone', () => {
    assert.equal(literalIp('127.0.0.1'), '127.0.0.1')
    assert.equal(literalIp('[::1]'), '::1')
    assert.equal(literalIp('::1'), '::1')
    assert.equal(literalIp('example.com'), undefined)
  })

  void it('throws SsrfRefused for a refused literal unless private addresses are allowed', () => {
    assert.throws(() => checkLiteralHost('[::ffff:127.0.0.1]', { allowPrivate: false }), SsrfRefused)
    assert.throws(() => checkLiteralHost('10.0.0.1', { allowPrivate: false }), SsrfRefused)
    checkLiteralHost('10.0.0.1', { allowPrivate: true })
    checkLiteralHost('8.8.8.8', { allowPrivate: false })
    checkLiteralHost('private.example', { allowPrivate: false })
  })
})

const table: Record<string, { address: string; family: 4 | 6 }[]> = {
  'public.test': [
    { address: '93.184.216.34', family: 4 },
    { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
  ],
  'mixed.test': [
    { address: '93.184.216.34', family: 4 },
    { address: '10.0.0.5', family: 4 },
  ],
  'mapped.test': [{ address: '::ffff:192.168.1.1', family: 6 }],
  'empty.test': [],
}
const resolve: Resolver = (name) => {
  const answers = table[name]
  return answers === undefined ? Promise.reject(Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' })) : Promise.resolve(answers)
}

function lookup(hostname: string, options: { all?: boolean; family?: number }, allowPrivate = false) {
  return new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family: unknown }>((done) => {
    createGuardedLookup({ allowPrivate, resolve })(hostname, options, (err, address, family) => done({ err, address, family }))
  })
}

void describe('resolveGuarded', () => {
  void it('returns every answer of a public name', async () => {
    assert.deepEqual(await resolveGuarded('public.test', { allowPrivate: false, resolve }), table['public.test'])
  })

  void it('refuses a name when any answer is refused', async () => {
    await assert.rejects(resolveGuarded('mixed.test', { allowPrivate: false, resolve }), (err: unknown) => {
      assert.ok(err instanceof SsrfRefused)
      assert.equal(err.address, '10.0.0.5')
      assert.equal(err.code, 'MIRROR_SSRF_REFUSED')
      return true
    })
    await assert.rejects(resolveGuarded('mapped.test', { allowPrivate: false, resolve }), SsrfRefused)
  })

  void it('lets everything through with allowPrivate', async () => {
    assert.equal((await resolveGuarded('mixed.test', { allowPrivate: true, resolve })).length, 2)
  })

  void it('passes resolver errors on and treats no answers as ENOTFOUND', async () => {
    await assert.rejects(resolveGuarded('nowhere.test', { allowPrivate: false, resolve }), { code: 'ENOTFOUND' })
    await assert.rejects(resolveGuarded('empty.test', { allowPrivate: false, resolve }), { code: 'ENOTFOUND' })
  })

  void it('uses an injected refusal policy', async () => {
    const answers = await resolveGuarded('mixed.test', { allowPrivate: false, resolve, refuse: (a) => a === '1.2.3.4' })
    assert.equal(answers.length, 2)
  })

  void it('resolves localhost with the system resolver and refuses it', async () => {
    await assert.rejects(resolveGuarded('localhost', { allowPrivate: false }), SsrfRefused)
    const answers = await resolveGuarded('localhost', { allowPrivate: true })
    assert.ok(answers.length > 0 && answers.every((a) => isIP(a.address) !== 0))
  })
})

void describe('createGuardedLookup (net.connect lookup)', () => {
  void it('answers the all form with every vetted address', async () => {
    const { err, address } = await lookup('public.test', { all: true })
    assert.equal(err, null)
    assert.deepEqual(address, table['public.test'])
  })

  void it('answers the single form with the first address of the wanted family', async () => {
    assert.deepEqual(await lookup('public.test', {}), { err: null, address: '93.184.216.34', family: 4 })
    assert.deepEqual(await lookup('public.test', { family: 6 }), { err: null, address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 })
  })

  void it('fails with SsrfRefused when any answer is refused, whatever the family asked', async () => {
    const { err } = await lookup('mixed.test', { all: true })
    assert.ok(err instanceof SsrfRefused)
    assert.ok((await lookup('mixed.test', { family: 6 })).err instanceof SsrfRefused)
  })

  void it('fails with ENOTFOUND when no answer has the wanted family', async () => {
    const { err } = await lookup('mixed.test', { family: 6 }, true)
    assert.equal(err?.code, 'ENOTFOUND')
  })

  void it('passes DNS failures on with their code', async () => {
    const { err } = await lookup('nowhere.test', { all: true })
    assert.equal(err?.code, 'ENOTFOUND')
  })
})
