/** `mirrorstore serve`: load config, open the store, start the listener, stop cleanly on signals. */
import { EmbeddedStore } from '../store/embedded/embedded-store.js'
import { ConfigError, type Config } from '../config/config.js'
import { accessSync, constants, mkdirSync, readFileSync, statSync } from 'node:fs'
import { startAdmin } from '../http/admin.js'
import { HttpServer } from '../http/server.js'
import { createLogger } from '../log/logger.js'
import { Metrics } from '../metrics/metrics.js'
import { MirrorEngine } from '../mirror/engine.js'
import { OriginClient } from '../mirror/origin.js'
import { MirrorQos } from '../mirror/qos.js'
import { credentialStore, loadCredentials } from './credentials.js'

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version

function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true })
    if (!statSync(dir).isDirectory()) throw new Error('not a directory')
    accessSync(dir, constants.R_OK | constants.W_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason = code === 'EEXIST' || code === 'ENOTDIR' ? 'not a directory' : (code ?? (err as Error).message)
    throw new ConfigError(`Unusable data directory "${dir}": ${reason}`)
  }
}

export interface RunningServer {
  readonly url: string
  readonly port: number
  readonly adminPort: number | undefined
  close(): Promise<void>
}

/** Test seams; never set from config or the environment. */
export interface ServeHooks {
  /** The one clock for the store (write times, retention) and the API (auth skew, WORM policies). */
  readonly now?: () => Date
}

export async function startServer(config: Config, print: (line: string) => void, hooks: ServeHooks = {}): Promise<RunningServer> {
  const now = hooks.now ?? (() => new Date())
  prepareDataDir(config.data)
  const log = createLogger(config.logLevel)
  const { credentials, generated } = loadCredentials(config.data, { accessKeyId: config.accessKeyId, accessKeySecret: config.accessKeySecret })
  let store: EmbeddedStore
  try {
    store = EmbeddedStore.open(config.data, { now })
  } catch (err) {
    throw new ConfigError(`Cannot open the store in "${config.data}": ${(err as Error).message}`)
  }
  const swept = await store.sweep()
  if (swept.removedFiles > 0) log.info(swept, 'Removed files no committed row references')
  const metrics = new Metrics()
  const origin = new OriginClient({
    connectTimeoutMs: config.mirror.connectTimeoutMs,
    readTimeoutMs: config.mirror.readTimeoutMs,
    allowPrivate: config.mirror.allowPrivate,
  })
  const mirror = new MirrorEngine({
    store,
    origin,
    qos: new MirrorQos({ qps: config.mirror.qps, bandwidthBitsPerSecond: config.mirror.bandwidthBitsPerSecond }),
    metrics,
    log: log.child({ component: 'mirror' }),
    settings: { verifyLimit: config.mirror.verifyLimit, userAgent: `Mirrorstore/${VERSION}` },
  })
  const http = new HttpServer({
    log,
    services: {
      store,
      mirror,
      metrics,
      credentials: credentialStore(credentials),
      settings: { region: config.region, ownerId: credentials.ownerId, domains: config.domains },
      now,
    },
  })
  let address
  let admin: Awaited<ReturnType<typeof startAdmin>> | undefined
  try {
    address = await http.listen(config.port, config.host)
    if (config.adminPort !== undefined) admin = await startAdmin(config.host, config.adminPort, metrics.registry)
  } catch (err) {
    await http.close(0).catch(() => undefined)
    await origin.close()
    store.close()
    throw new ConfigError(`Cannot listen on ${config.host}:${config.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  print(`listening on ${url}`)
  print(`data in ${config.data}`)
  if (admin !== undefined) print(`admin (metrics, health) on http://${host}:${admin.address.port}`)
  print(`access key id: ${credentials.accessKeyId}`)
  if (generated) print(`access key secret: ${credentials.accessKeySecret} (generated now and stored in the data directory; shown only this once)`)
  return {
    url,
    port: address.port,
    adminPort: admin?.address.port,
    close: async () => {
      mirror.close()
      admin?.server.close()
      admin?.server.closeAllConnections()
      await http.close()
      await origin.close()
      store.close()
    },
  }
}
