/** One serving process: the whole server (--workers 1), or one worker of the cluster. */
import cluster from 'node:cluster'
import { readFileSync } from 'node:fs'
import { AggregatorRegistry } from 'prom-client'
import { ConfigError, type Config } from '../config/config.js'
import { startAdmin } from '../http/admin.js'
import { HttpServer } from '../http/server.js'
import { createLogger } from '../log/logger.js'
import { Metrics } from '../metrics/metrics.js'
import { isCoordinatorMessage, LocalCoordinator, WorkerCoordinator, type FillCoordinator } from '../mirror/coordinator.js'
import { MirrorEngine } from '../mirror/engine.js'
import { OriginClient } from '../mirror/origin.js'
import { MirrorQos } from '../mirror/qos.js'
import { EmbeddedStore } from '../store/embedded/embedded-store.js'
import { startHashThread } from '../util/threaded-hasher.js'
import type { ListeningMessage } from './cluster.js'
import { credentialStore, loadCredentials } from './credentials.js'
import { prepareDataDir, type RunningServer, type ServeHooks } from './serve.js'

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version

/** In a worker, fills and QoS are decided by the primary; alone, in this process. */
function fillCoordinator(config: Config, worker: boolean): FillCoordinator {
  if (!worker) return new LocalCoordinator(new MirrorQos({ qps: config.mirror.qps, bandwidthBitsPerSecond: config.mirror.bandwidthBitsPerSecond }))
  const coordinator = new WorkerCoordinator({ send: (m) => process.send?.(m) })
  process.on('message', (m: unknown) => {
    if (isCoordinatorMessage(m)) coordinator.handle(m)
  })
  return coordinator
}

export async function startProcess(config: Config, print: (line: string) => void, hooks: ServeHooks): Promise<RunningServer> {
  const worker = cluster.isWorker
  const now = hooks.now ?? (() => new Date())
  prepareDataDir(config.data)
  const log = createLogger(config.logLevel)
  const { credentials, generated } = loadCredentials(config.data, { accessKeyId: config.accessKeyId, accessKeySecret: config.accessKeySecret })
  const metrics = new Metrics()
  let store: EmbeddedStore
  try {
    store = EmbeddedStore.open(config.data, { now, hot: { onRead: (outcome) => metrics.hotReads.inc({ outcome }) } })
  } catch (err) {
    throw new ConfigError(`Cannot open the store in "${config.data}": ${(err as Error).message}`)
  }
  // The primary swept before forking; a worker must not delete another worker's staging files.
  if (!worker) {
    const swept = await store.sweep()
    if (swept.removedFiles > 0) log.info(swept, 'Removed files no committed row references')
  }
  metrics.hotHeldSource = () => store.hotHeldBytes
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
  // Warm before listening, so no client pays for first use: large fills hash on a thread (boot it
  // now, about 10 MB), and undici's first request costs 10-15 ms more than later ones.
  startHashThread()
  await origin.warmUp()
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
