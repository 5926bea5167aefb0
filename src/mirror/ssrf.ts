/**
 * The SSRF guard (mirror-rules.md B4): which addresses an origin may not resolve to, and a
 * `lookup` for net/tls.connect that resolves a name, refuses it when ANY answer is refused, and
 * hands only the vetted answers to the connect call, so the socket goes where we checked while
 * the name stays in Host and SNI. A literal IP host never reaches `lookup` (net skips it), so
 * `checkLiteralHost` covers that case.
 */
import { lookup as dnsLookup } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'

/** Thrown (or passed to the connect callback) when the guard refuses a host. */
export class SsrfRefused extends Error {
  override readonly name = 'SsrfRefused'
  readonly code = 'MIRROR_SSRF_REFUSED'
  readonly hostname: string
  readonly address: string
  constructor(hostname: string, address: string) {
    super(`Origin host "${hostname}" resolves to refused address "${address}"`)
    this.hostname = hostname
    this.address = address
  }
}

export interface ResolvedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/** Resolves a host name to all its addresses; rejects with the resolver's error (ENOTFOUND…). */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>

/** true when the address must not be connected to. */
export type AddressPolicy = (address: string) => boolean

export interface GuardOptions {
  /** `--mirror-allow-private`: no address is refused. */
  readonly allowPrivate: boolean
  /** Defaults to `isRefusedAddress`; tests inject an exemption for their loopback origin. */
  readonly refuse?: AddressPolicy
  /** Defaults to dns.lookup with `all: true`. */
  readonly resolve?: Resolver
}

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
      if (err !== null) reject(err)
      else resolve(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })))
    })
  })

function parseIPv4(address: string): number | undefined {
  const parts = address.split('.')
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    value = value * 256 + n
  }
  return value
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped), or undefined if malformed. */
function parseIPv6(input: string): number[] | undefined {
  let address = input
  const zone = address.indexOf('%')
  if (zone !== -1) address = address.slice(0, zone)
  if (isIP(address) !== 6) return undefined
  // An embedded dotted IPv4 tail becomes two groups.
  const lastColon = address.lastIndexOf(':')
  const tail = address.slice(lastColon + 1)
  if (tail.includes('.')) {
    const v4 = parseIPv4(tail)
    if (v4 === undefined) return undefined
    address = `${address.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`
  }
  const halves = address.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] === '' || halves[0] === undefined ? [] : halves[0].split(':')
  const rest = halves.length === 2 ? (halves[1] === '' || halves[1] === undefined ? [] : halves[1].split(':')) : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest].map((g) => parseInt(g, 16))
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined
}

function inV4(value: number, base: string, bits: number): boolean {
  const b = parseIPv4(base)
  if (b === undefined) return false
  const size = 2 ** (32 - bits)
  return Math.floor(value / size) === Math.floor(b / size)
}

function isRefusedIPv4(value: number): boolean {
  return (
    inV4(value, '0.0.0.0', 8) || // unspecified / "this network"
    inV4(value, '127.0.0.0', 8) || // loopback
    inV4(value, '10.0.0.0', 8) ||
    inV4(value, '172.16.0.0', 12) ||
    inV4(value, '192.168.0.0', 16) ||
    inV4(value, '100.64.0.0', 10) || // carrier-grade NAT
    inV4(value, '169.254.0.0', 16) || // link-local
    inV4(value, '224.0.0.0', 4) || // multicast
    value === 0xffffffff // limited broadcast
  )
}

/**
 * B4's refused ranges. IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged by its IPv4. Anything that
 * is not a valid IP address is refused too: the guard never lets an unparsed value through.
 */
export function isRefusedAddress(address: string): boolean {
  const v4 = parseIPv4(address)
  if (v4 !== undefined) return isRefusedIPv4(v4)
  const g = parseIPv6(address)
  if (g === undefined) return true
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) return isRefusedIPv4(g6 * 0x10000 + g7)
  const allZeroHead = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0 && g6 === 0
  if (allZeroHead && (g7 === 0 || g7 === 1)) return true // :: and ::1
  if ((g0 & 0xfe00) === 0xfc00) return true // fc00::/7 unique local
  if ((g0 & 0xffc0) === 0xfe80) return true // fe80::/10 link-local
  if ((g0 & 0xff00) === 0xff00) return true // ff00::/8 multicast
  return false
}

/** Strips IPv6 brackets; returns the address when `host` is a literal IP, else undefined. */
export function literalIp(host: string): string | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  return isIP(bare) !== 0 ? bare : undefined
}

function policy(options: GuardOptions): AddressPolicy | undefined {
  return options.allowPrivate ? undefined : (options.refuse ?? isRefusedAddress)
}

/** Throws SsrfRefused when `host` is a literal IP the guard refuses; names pass (lookup checks them). */
export function checkLiteralHost(host: string, options: GuardOptions): void {
  const refuse = policy(options)
  const ip = literalIp(host)
  if (refuse !== undefined && ip !== undefined && refuse(ip)) throw new SsrfRefused(host, ip)
}

/** Resolves and vets a name: every answer must pass, or the whole name is refused. */
export async function resolveGuarded(hostname: string, options: GuardOptions): Promise<readonly ResolvedAddress[]> {
  const ip = literalIp(hostname)
  if (ip !== undefined) {
    checkLiteralHost(ip, options)
    return [{ address: ip, family: isIP(ip) === 6 ? 6 : 4 }]
  }
  const answers = await (options.resolve ?? systemResolver)(hostname)
  if (answers.length === 0) {
    throw Object.assign(new Error(`Origin host "${hostname}" has no addresses`), { code: 'ENOTFOUND', hostname })
  }
  const refuse = policy(options)
  if (refuse !== undefined) {
    for (const a of answers) if (refuse(a.address)) throw new SsrfRefused(hostname, a.address)
  }
  return answers
}

/**
 * A `lookup` for net.connect / tls.connect (undici's `connect.lookup`). Node 20 calls it with
 * `all: true` when autoSelectFamily is on; both forms are answered from the vetted list.
 */
export function createGuardedLookup(options: GuardOptions): LookupFunction {
  return function guardedLookup(hostname, lookupOptions, callback): void {
    resolveGuarded(hostname, options).then(
      (answers) => {
        const family = Number(lookupOptions.family ?? 0)
        const wanted = family === 4 || family === 6 ? answers.filter((a) => a.family === family) : answers
        if (wanted.length === 0) {
          callback(Object.assign(new Error(`Origin host "${hostname}" has no IPv${family} address`), { code: 'ENOTFOUND' }), '')
        } else if (lookupOptions.all === true) {
          callback(null, wanted.map((a) => ({ address: a.address, family: a.family })))
        } else {
          const first = wanted[0]
          callback(null, first?.address ?? '', first?.family)
        }
      },
      (err: unknown) => {
        callback(err instanceof Error ? err : new Error(String(err)), '')
      },
    )
  }
}
