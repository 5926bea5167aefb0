/** `mirrorstore serve`: load config, open the store, start the listener, stop cleanly on signals. */
import { EmbeddedStore } from '../store/embedded/embedded-store.js'
import { ConfigError, type Config } from '../config/config.js'
import { accessSync, constants, mkdirSync, statSync } from 'node:fs'
import { createLogger } from '../log/logger.js'
import cluster from 'node:cluster'
import { startCluster } from './cluster.js'
import { loadCredentials } from './credentials.js'

export function prepareDataDir(dir: string): void {
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
  // Loaded only where requests are served: the cluster primary stays small.
  const { startProcess } = await import('./serve-process.js')
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

