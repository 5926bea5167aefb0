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
import { isCoordinatorMessage, LocalCoordinator, WorkerCoordinator, type FillCoordinator } from '../mirror/coordinator.js'
import { MirrorQos } from '../mirror/qos.js'
import cluster from 'node:cluster'
import { AggregatorRegistry } from 'prom-client'
import { startCluster, type ListeningMessage } from './cluster.js'
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
  if (config.workers > 1 && cluster.isPrimary) return startPrimary(config, print)
  return startProcess(config, print, hooks)
}

/** --workers > 1, in the primary: prepare the data dir once, then fork and watch the workers. */
async function startPrimary(config: Config, print: (line: string) => void): Promise<RunningServer> {
  prepareDataDir(config.data)
  const log = createLogger(config.logLevel)
  const { credentials, generated } = loadCredentials(config.data, { accessKeyId: config.accessKeyId, accessKeySecret: config.accessKeySecret })
  let store: EmbeddedStore
  try {
    store = EmbeddedStore.open(config.data)
  } catch (err) {
    throw new ConfigError(`Cannot open the store in "${config.data}": ${(err as Error).message}`)
  }
  try {
    const swept = await store.sweep()
    if (swept.removedFiles > 0) log.info(swept, 'Removed files no committed row references')
  } finally {
    store.close()
  }
  let handle
  try {
    handle = await startCluster(config, config.workers, log)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(`Cannot start ${config.workers} workers on ${config.host}:${config.port}: ${(err as Error).message}`)
  }
  print(`listening on ${handle.url}`)
  print(`data in ${config.data}`)
  print(`workers: ${config.workers}`)
  if (handle.adminPort !== undefined) print(`admin (metrics, health) on http://${config.host}:${handle.adminPort}`)
  print(`access key id: ${credentials.accessKeyId}`)
  if (generated) print(`access key secret: ${credentials.accessKeySecret} (generated now and stored in the data directory; shown only this once)`)
  return handle
}

/** In a worker, fills and QoS are decided by the primary; alone, in this process. */
function fillCoordinator(config: Config, worker: boolean): FillCoordinator {
  if (!worker) return new LocalCoordinator(new MirrorQos({ qps: config.mirror.qps, bandwidthBitsPerSecond: config.mirror.bandwidthBitsPerSecond }))
  const coordinator = new WorkerCoordinator({ send: (m) => process.send?.(m) })
  process.on('message', (m: unknown) => {
    if (isCoordinatorMessage(m)) coordinator.handle(m)
  })
  return coordinator
}

/** One serving process: the whole server (--workers 1), or one worker of the cluster. */
async function startProcess(config: Config, print: (line: string) => void, hooks: ServeHooks): Promise<RunningServer> {
  const worker = cluster.isWorker
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
  // The primary swept before forking; a worker must not delete another worker's staging files.
  if (!worker) {
    const swept = await store.sweep()
    if (swept.removedFiles > 0) log.info(swept, 'Removed files no committed row references')
  }
  const metrics = new Metrics()
  const origin = new OriginClient({
    connectTimeoutMs: config.mirror.connectTimeoutMs,
    readTimeoutMs: config.mirror.readTimeoutMs,
    allowPrivate: config.mirror.allowPrivate,
  })
  const mirror = new MirrorEngine({
    store,
    origin,
    coordinator: fillCoordinator(config, worker),
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
      log,
      credentials: credentialStore(credentials),
      settings: { region: config.region, ownerId: credentials.ownerId, domains: config.domains },
      now,
    },
  })
  async function closeAll(): Promise<void> {
    mirror.close()
    admin?.server.close()
    admin?.server.closeAllConnections()
    await http.close()
    await origin.close()
    store.close()
  }
  let address
  let admin: Awaited<ReturnType<typeof startAdmin>> | undefined
  try {
    address = await http.listen(config.port, config.host)
    if (config.adminPort !== undefined && !worker) admin = await startAdmin(config.host, config.adminPort, metrics.registry)
  } catch (err) {
    await http.close(0).catch(() => undefined)
    await origin.close()
    store.close()
    throw new ConfigError(`Cannot listen on ${config.host}:${config.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  if (worker) {
    // Metrics are aggregated by the primary; it prints the banner once every worker listens.
    // Constructing one installs prom-client's listener that answers the primary's metric requests.
    new AggregatorRegistry()
    AggregatorRegistry.setRegistries([metrics.registry])
    process.send?.({ mirrorstore: 'listening', port: address.port, address: address.address, family: address.family } satisfies ListeningMessage)
    return { url, port: address.port, adminPort: undefined, close: closeAll }
  }
  print(`listening on ${url}`)
  print(`data in ${config.data}`)
  if (admin !== undefined) print(`admin (metrics, health) on http://${host}:${admin.address.port}`)
  print(`access key id: ${credentials.accessKeyId}`)
  if (generated) print(`access key secret: ${credentials.accessKeySecret} (generated now and stored in the data directory; shown only this once)`)
  return { url, port: address.port, adminPort: admin?.address.port, close: closeAll }
}
