/**
 * Spawns the built CLI (`node dist/src/main.js …`) as a child process, for CLI and crash tests.
 * Every child is SIGKILLed in t.after if it is still running.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET } from './server.js'

export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url))

interface Hooks {
  after(fn: () => Promise<void> | void): void
}

export interface CliOptions {
  /** Extra environment; MIRRORSTORE_* from the parent are never inherited. */
  readonly env?: Record<string, string>
  readonly cwd?: string
}

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams
  stdout = ''
  stderr = ''
  /** Resolves once the process has exited and its output streams are closed. */
  readonly exited: Promise<Exit>
  private readonly waiters = new Set<() => void>()

  constructor(t: Hooks, args: readonly string[], options: CliOptions = {}) {
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MIRRORSTORE_')) env[k] = v
    this.child = spawn(process.execPath, ['--enable-source-maps', MAIN, ...args], {
      env: { ...env, ...options.env },
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    })
    this.child.stdout.on('data', (d: Buffer) => {
      this.stdout += d.toString()
      this.notify()
    })
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString()
      this.notify()
    })
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.notify()
        resolve({ code, signal })
      })
    })
    t.after(async () => {
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
      await this.exited
    })
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  private notify(): void {
    for (const w of this.waiters) w()
  }

  /** Waits until stdout matches `re`; fails if the process ends first or `timeoutMs` passes. */
  waitFor(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let finished = false
      const check = (): void => {
        if (finished) return
        const m = re.exec(this.stdout)
        if (m !== null) finish(() => resolve(m))
        else if (!this.running && this.child.stdout.readableEnded) {
          finish(() => reject(new Error(`Process ended before ${String(re)}; stdout: ${this.stdout}; stderr: ${this.stderr}`)))
        }
      }
      const timer = setTimeout(() => finish(() => reject(new Error(`Timed out waiting for ${String(re)}; stdout: ${this.stdout}; stderr: ${this.stderr}`))), timeoutMs)
      const finish = (fn: () => void): void => {
        finished = true
        clearTimeout(timer)
        this.waiters.delete(check)
        fn()
      }
      this.waiters.add(check)
      check()
    })
  }
}

export interface RunningCli {
  readonly proc: CliProcess
  readonly port: number
}

/** Starts `serve` on 127.0.0.1, port 0, with the test credentials unless `env` says otherwise. */
export async function serveCli(t: Hooks, dataDir: string, extraArgs: readonly string[] = [], options: CliOptions & { credentials?: boolean } = {}): Promise<RunningCli> {
  const env = options.credentials === false ? (options.env ?? {}) : { MIRRORSTORE_ACCESS_KEY_ID: ACCESS_KEY_ID, MIRRORSTORE_ACCESS_KEY_SECRET: ACCESS_KEY_SECRET, ...options.env }
  const proc = new CliProcess(t, ['serve', '--port', '0', '--data', dataDir, '--log-level', 'warn', ...extraArgs], { ...options, env })
  const m = await proc.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/)
  await proc.waitFor(/access key id: /)
  return { proc, port: Number(m[1]) }
}
