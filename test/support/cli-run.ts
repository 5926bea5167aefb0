/**
 * The built CLI (`dist/src/main.js`) as a child process: one-shot commands (`runCli`) and a server
 * process (`spawnServer`) that tests can SIGKILL. Children get a clean environment: no MIRRORSTORE_*
 * from the caller, the test credentials unless told otherwise.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET } from './server.js'

import { MAIN } from './cli.js'

export { MAIN }

interface Hooks {
  after(fn: () => Promise<void> | void): void
}

/** process.env without MIRRORSTORE_*, plus `extra`. */
export function cleanEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MIRRORSTORE_')) env[k] = v
  return { ...env, ...extra }
}

export const TEST_CREDENTIALS_ENV = { MIRRORSTORE_ACCESS_KEY_ID: ACCESS_KEY_ID, MIRRORSTORE_ACCESS_KEY_SECRET: ACCESS_KEY_SECRET } as const

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `node dist/src/main.js ...args` to completion (asynchronously: an in-process server keeps serving). */
export function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--enable-source-maps', MAIN, ...args],
      { env: options.env ?? cleanEnv(TEST_CREDENTIALS_ENV), ...(options.cwd !== undefined ? { cwd: options.cwd } : {}), timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
        resolve({ code, stdout, stderr })
      },
    )
  })
}

export interface ServerProcess {
  readonly child: ChildProcess
  readonly port: number
  /** Resolves when the process has exited (after a kill). */
  readonly exited: Promise<void>
}

/**
 * Starts `mirrorstore serve --port 0 --data <dataDir> ...args` and resolves once it prints its
 * address. The process is SIGKILLed in t.after if still running.
 */
export function spawnServer(t: Hooks, dataDir: string, args: readonly string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--enable-source-maps', MAIN, 'serve', '--port', '0', '--data', dataDir, '--log-level', 'warn', ...args], {
    env: cleanEnv(TEST_CREDENTIALS_ENV),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`Server did not start within 20 s: ${err}`)), 20_000)
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve({ child, port: Number(m[1]), exited })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`Server exited with ${String(code)} before listening: ${err}`))
    })
  })
}
