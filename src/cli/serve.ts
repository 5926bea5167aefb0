/** `mirrorstore serve`: load config, open the store, start the listener, stop cleanly on signals. */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs'
import { EmbeddedStore } from '../store/embedded/embedded-store.js'
import { ConfigError, type Config } from '../config/config.js'
import { HttpServer } from '../http/server.js'
import { createLogger } from '../log/logger.js'
import { credentialStore, loadCredentials } from './credentials.js'

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
  close(): Promise<void>
}

export async function startServer(config: Config, print: (line: string) => void): Promise<RunningServer> {
  prepareDataDir(config.data)
  const log = createLogger(config.logLevel)
  const { credentials, generated } = loadCredentials(config.data, { accessKeyId: config.accessKeyId, accessKeySecret: config.accessKeySecret })
  let store: EmbeddedStore
  try {
    store = EmbeddedStore.open(config.data)
  } catch (err) {
    throw new ConfigError(`Cannot open the store in "${config.data}": ${(err as Error).message}`)
  }
  const swept = await store.sweep()
  if (swept.removedFiles > 0) log.info(swept, 'Removed files no committed row references')
  const http = new HttpServer({
    log,
    services: {
      store,
      credentials: credentialStore(credentials),
      settings: { region: config.region, ownerId: credentials.ownerId, domains: config.domains },
      now: () => new Date(),
    },
  })
  let address
  try {
    address = await http.listen(config.port, config.host)
  } catch (err) {
    store.close()
    throw new ConfigError(`Cannot listen on ${config.host}:${config.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  print(`listening on ${url}`)
  print(`data in ${config.data}`)
  print(`access key id: ${credentials.accessKeyId}`)
  if (generated) print(`access key secret: ${credentials.accessKeySecret} (generated now and stored in the data directory; shown only this once)`)
  return {
    url,
    port: address.port,
    close: async () => {
      await http.close()
      store.close()
    },
  }
}
