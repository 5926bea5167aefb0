/** Starts a real Mirrorstore on 127.0.0.1:0 with a fresh data dir; stopped and removed in t.after. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, type RawServeOptions } from '../../src/config/config.js'
import { startServer, type RunningServer, type ServeHooks } from '../../src/cli/serve.js'

export const ACCESS_KEY_ID = 'AKIDTESTLOCAL'
export const ACCESS_KEY_SECRET = 'SECRETTESTLOCAL0123456789'

export interface TestServer extends RunningServer {
  readonly dataDir: string
  readonly endpoint: string
}

interface Hooks {
  after(fn: () => Promise<void> | void): void
}

export async function startTestServer(t: Hooks, options: RawServeOptions = {}, hooks: ServeHooks = {}): Promise<TestServer> {
  const dataDir = options.data ?? (await mkdtemp(join(tmpdir(), 'mirrorstore-test-')))
  const config = loadConfig(
    { port: '0', host: '127.0.0.1', logLevel: 'silent', ...options, data: dataDir },
    { MIRRORSTORE_ACCESS_KEY_ID: ACCESS_KEY_ID, MIRRORSTORE_ACCESS_KEY_SECRET: ACCESS_KEY_SECRET },
    process.cwd(),
  )
  const server = await startServer(config, () => undefined, hooks)
  t.after(async () => {
    await server.close()
    if (options.data === undefined) await rm(dataDir, { recursive: true, force: true })
  })
  return { ...server, dataDir, endpoint: server.url }
}

export const KEY_CTRL = 'ctrl-\x01\x0a\x0c\x07-\r\n-key'
export const KEY_UTF8 = '中文/ключ/🙂 space+plus&amp.txt'
export const KEY_DOTDOT = '../../etc/passwd'
export const KEY_MAX = 'k'.repeat(1023)
