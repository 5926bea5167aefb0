/**
 * The one typed configuration: flag definitions (shared by --help and validation), defaults, and
 * validation. The sole reader of process.env (through the `env` argument).
 */
import { isAbsolute, resolve } from 'node:path'

export interface MirrorConfig {
  /** Objects up to this many bytes are verified before the first byte goes to the client. */
  readonly verifyLimit: number
  readonly connectTimeoutMs: number
  readonly readTimeoutMs: number
  /** Mirror fills per second, 0 = unlimited. */
  readonly qps: number
  /** Origin bits per second, 0 = unlimited. */
  readonly bandwidthBitsPerSecond: number
  readonly allowPrivate: boolean
}

export interface Config {
  readonly host: string
  readonly port: number
  readonly data: string
  /** Bare region id, e.g. `cn-hangzhou`. */
  readonly region: string
  /** Base domains for virtual-hosted buckets, lowercase. */
  readonly domains: readonly string[]
  readonly accessKeyId: string | undefined
  readonly accessKeySecret: string | undefined
  readonly adminPort: number | undefined
  /** Worker processes sharing the listener; 1 = serve in this process. */
  readonly workers: number
  readonly logLevel: LogLevel
  readonly mirror: MirrorConfig
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** Raised for a bad setting; the CLI prints its message on one line and exits non-zero. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/** One definition per serve flag: --help text and defaults come from here. */
export const SERVE_FLAGS = [
  { flag: '--host <host>', help: 'address to listen on', default: '127.0.0.1' },
  { flag: '--port <port>', help: 'port to listen on (0 picks a free one)', default: '9000' },
  // No commander default for --data and --log-level: it would hide the environment variable.
  { flag: '--data <dir>', help: 'data directory (metadata, object bytes, credentials) (default: $MIRRORSTORE_DATA, else "./data")', default: undefined },
  { flag: '--region <region>', help: 'region id, e.g. cn-hangzhou (oss-cn-hangzhou accepted)', default: 'cn-hangzhou' },
  { flag: '--domain <domain...>', help: 'base domain for virtual-hosted buckets (repeatable)', default: ['localhost'] },
  { flag: '--workers <n>', help: 'worker processes sharing the port (default: the number of cores)', default: undefined },
  { flag: '--admin-port <port>', help: 'separate listener for GET /metrics and GET /health (off by default)', default: undefined },
  { flag: '--log-level <level>', help: `log level: ${LOG_LEVELS.join(', ')} (default: $MIRRORSTORE_LOG_LEVEL, else "info")`, default: undefined },
  { flag: '--mirror-verify-limit <size>', help: 'mirror objects up to this size are verified before serving (bytes, KiB, MiB, GiB)', default: '8MiB' },
  { flag: '--mirror-connect-timeout <duration>', help: 'origin connect timeout per hop (e.g. 500ms, 10s)', default: '10s' },
  { flag: '--mirror-read-timeout <duration>', help: 'origin header wait and longest body silence', default: '10s' },
  { flag: '--mirror-qps <n>', help: 'mirror fills per second, 0 = unlimited (default by region)', default: undefined },
  { flag: '--mirror-bandwidth <rate>', help: 'origin bandwidth, e.g. 500Mbit, 2Gbit, 0 = unlimited (default by region)', default: undefined },
  { flag: '--mirror-allow-private', help: 'allow origins on loopback/private addresses (trusted networks, tests)', default: false },
] as const

export interface RawServeOptions {
  host?: string
  port?: string
  data?: string
  region?: string
  domain?: string[]
  adminPort?: string
  workers?: string
  logLevel?: string
  mirrorVerifyLimit?: string
  mirrorConnectTimeout?: string
  mirrorReadTimeout?: string
  mirrorQps?: string
  mirrorBandwidth?: string
  mirrorAllowPrivate?: boolean
}

function integer(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`Invalid ${flag} "${raw}": expected an integer from ${min} to ${max}`)
  const n = Number(raw.trim())
  if (n < min || n > max) throw new ConfigError(`Invalid ${flag} "${raw}": expected an integer from ${min} to ${max}`)
  return n
}

export function parseSize(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB)?$/i.exec(raw.trim())
  if (m === null) throw new ConfigError(`Invalid ${flag} "${raw}": expected bytes or a size such as 8MiB`)
  const unit = (m[2] ?? 'B').toLowerCase()
  const mult = unit === 'kib' ? 1024 : unit === 'mib' ? 1024 ** 2 : unit === 'gib' ? 1024 ** 3 : 1
  return Math.floor(Number(m[1]) * mult)
}

export function parseDuration(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(raw.trim())
  if (m === null) throw new ConfigError(`Invalid ${flag} "${raw}": expected a duration such as 500ms or 10s`)
  const ms = m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000
  if (ms <= 0) throw new ConfigError(`Invalid ${flag} "${raw}": expected a positive duration`)
  return Math.round(ms)
}

export function parseBandwidth(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(bit|Kbit|Mbit|Gbit)?$/i.exec(raw.trim())
  if (m === null) throw new ConfigError(`Invalid ${flag} "${raw}": expected a rate such as 500Mbit, or 0`)
  const unit = (m[2] ?? 'bit').toLowerCase()
  const mult = unit === 'kbit' ? 1e3 : unit === 'mbit' ? 1e6 : unit === 'gbit' ? 1e9 : 1
  return Math.floor(Number(m[1]) * mult)
}

function normaliseRegion(raw: string): string {
  const r = raw.trim().toLowerCase().replace(/^oss-/, '')
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(r)) throw new ConfigError(`Invalid --region "${raw}": expected a region id such as cn-hangzhou`)
  return r
}

function normaliseDomain(raw: string): string {
  const d = raw.trim().toLowerCase().replace(/^\.+/, '')
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(d)) throw new ConfigError(`Invalid --domain "${raw}": expected a host name such as localhost`)
  return d
}

export function loadConfig(raw: RawServeOptions, env: NodeJS.ProcessEnv, cwd: string, cores = 1): Config {
  const region = normaliseRegion(raw.region ?? 'cn-hangzhou')
  const china = region.startsWith('cn-')
  const logLevel = (raw.logLevel ?? env.MIRRORSTORE_LOG_LEVEL ?? 'info') as LogLevel
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`Invalid --log-level "${logLevel}": expected one of ${LOG_LEVELS.join(', ')}`)
  const dataRaw = raw.data ?? env.MIRRORSTORE_DATA ?? './data'
  const accessKeyId = env.MIRRORSTORE_ACCESS_KEY_ID
  const accessKeySecret = env.MIRRORSTORE_ACCESS_KEY_SECRET
  if ((accessKeyId === undefined) !== (accessKeySecret === undefined) || accessKeyId === '' || accessKeySecret === '') {
    throw new ConfigError('Set both MIRRORSTORE_ACCESS_KEY_ID and MIRRORSTORE_ACCESS_KEY_SECRET, or neither')
  }
  const config: Config = {
    host: raw.host ?? '127.0.0.1',
    port: integer('--port', raw.port ?? '9000', 0, 65535),
    data: isAbsolute(dataRaw) ? dataRaw : resolve(cwd, dataRaw),
    region,
    domains: (raw.domain ?? ['localhost']).map(normaliseDomain),
    accessKeyId,
    accessKeySecret,
    adminPort: raw.adminPort === undefined ? undefined : integer('--admin-port', raw.adminPort, 0, 65535),
    workers: raw.workers === undefined ? Math.max(1, cores) : integer('--workers', raw.workers, 1, 64),
    logLevel,
    mirror: {
      verifyLimit: parseSize('--mirror-verify-limit', raw.mirrorVerifyLimit ?? '8MiB'),
      connectTimeoutMs: parseDuration('--mirror-connect-timeout', raw.mirrorConnectTimeout ?? '10s'),
      readTimeoutMs: parseDuration('--mirror-read-timeout', raw.mirrorReadTimeout ?? '10s'),
      qps: raw.mirrorQps === undefined ? (china ? 2000 : 1000) : integer('--mirror-qps', raw.mirrorQps, 0, 1e9),
      bandwidthBitsPerSecond:
        raw.mirrorBandwidth === undefined ? (china ? 2e9 : 1e9) : parseBandwidth('--mirror-bandwidth', raw.mirrorBandwidth),
      allowPrivate: raw.mirrorAllowPrivate === true,
    },
  }
  if (config.host.trim() === '') throw new ConfigError('Invalid --host "": expected an address')
  return Object.freeze(config)
}

// ---------------------------------------------------------------------------------------------
// Client commands (`mirrorstore rules …`): talk to a running server.

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:9000'

/** Flags shared by every client subcommand: --help text and defaults come from here. */
export const CLIENT_FLAGS = [
  { flag: '--endpoint <url>', help: 'URL of the running server', default: DEFAULT_ENDPOINT },
  // No commander default, so MIRRORSTORE_DATA can apply when --data is absent.
  { flag: '--data <dir>', help: 'data directory whose credentials.json is used when the environment has none (default: MIRRORSTORE_DATA or "./data")', default: undefined },
] as const

export interface RawClientOptions {
  endpoint?: string
  data?: string
}

export interface ClientConfig {
  /** Origin of the server, e.g. `http://127.0.0.1:9000` (no trailing slash). */
  readonly endpoint: string
  readonly data: string
  /** From the environment; both or neither. */
  readonly accessKeyId: string | undefined
  readonly accessKeySecret: string | undefined
}

function normaliseEndpoint(raw: string): string {
  const bad = (): ConfigError => new ConfigError(`Invalid --endpoint "${raw}": expected a URL such as ${DEFAULT_ENDPOINT}`)
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    throw bad()
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad()
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || url.pathname !== '/') throw bad()
  return url.origin
}

export function loadClientConfig(raw: RawClientOptions, env: NodeJS.ProcessEnv, cwd: string): ClientConfig {
  const dataRaw = raw.data ?? env.MIRRORSTORE_DATA ?? './data'
  const accessKeyId = env.MIRRORSTORE_ACCESS_KEY_ID
  const accessKeySecret = env.MIRRORSTORE_ACCESS_KEY_SECRET
  if ((accessKeyId === undefined) !== (accessKeySecret === undefined) || accessKeyId === '' || accessKeySecret === '') {
    throw new ConfigError('Set both MIRRORSTORE_ACCESS_KEY_ID and MIRRORSTORE_ACCESS_KEY_SECRET, or neither')
  }
  return Object.freeze({
    endpoint: normaliseEndpoint(raw.endpoint ?? DEFAULT_ENDPOINT),
    data: isAbsolute(dataRaw) ? dataRaw : resolve(cwd, dataRaw),
    accessKeyId,
    accessKeySecret,
  })
}
