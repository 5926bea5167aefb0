/**
 * Child processes of the bench and what /proc says about them. Every process the bench starts is
 * registered here and stopped (its whole process group) by stopAll, which the runner calls on
 * success, failure and SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'

const live = new Set<ChildProcess>()
const TICKS_PER_SECOND = 100 // USER_HZ on Linux; /proc/<pid>/stat counts in these

export interface Started {
  readonly child: ChildProcess
  readonly pid: number
  /** stdout and stderr so far, for error messages. */
  readonly output: () => string
}

/** Spawns in its own process group, so stopping it also stops its workers. */
export function startProcess(cmd: string, args: readonly string[], options: SpawnOptions = {}): Started {
  const child = spawn(cmd, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  if (child.pid === undefined) throw new Error(`Cannot start "${cmd}"`)
  live.add(child)
  let out = ''
  const keep = (b: Buffer): void => {
    out = (out + b.toString('utf8')).slice(-20_000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  child.on('exit', () => live.delete(child))
  return { child, pid: child.pid, output: () => out }
}

/** Resolves with the first match of `re` in the process's output, or rejects on exit or timeout. */
export function waitForOutput(p: Started, re: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const m = re.exec(p.output())
      if (m === null) return false
      cleanup()
      resolve(m)
      return true
    }
    const onExit = (code: number | null): void => {
      cleanup()
      reject(new Error(`Process ${p.pid} exited (${String(code)}) before printing ${String(re)}: ${p.output().slice(-2000)}`))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`Process ${p.pid} did not print ${String(re)} within ${timeoutMs} ms: ${p.output().slice(-2000)}`))
    }, timeoutMs)
    const onData = (): void => void check()
    const cleanup = (): void => {
      clearTimeout(timer)
      p.child.stdout?.off('data', onData)
      p.child.stderr?.off('data', onData)
      p.child.off('exit', onExit)
    }
    p.child.stdout?.on('data', onData)
    p.child.stderr?.on('data', onData)
    p.child.on('exit', onExit)
    check()
  })
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // Already gone.
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  killGroup(child, 'SIGTERM')
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
  killGroup(child, 'SIGKILL') // workers an exiting master left behind
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => stopProcess(c)))
}

/** Last resort from a synchronous 'exit' handler. */
export function killAllNow(): void {
  for (const c of live) killGroup(c, 'SIGKILL')
}

/** The pid and every descendant (nginx master → workers). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = children.get(ppid) ?? []
      list.push(Number(name))
      children.set(ppid, list)
    } catch {
      // Exited while we looked.
    }
  }
  const out: number[] = []
  const walk = (p: number): void => {
    out.push(p)
    for (const c of children.get(p) ?? []) walk(c)
  }
  walk(pid)
  return out
}

/** utime + stime of the processes, in seconds. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12]) // fields 14 and 15 of stat(5)
    } catch {
      // Exited.
    }
  }
  return ticks / TICKS_PER_SECOND
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))
    return m === null ? 0 : Number(m[1])
  } catch {
    return 0
  }
}

/** Resident memory summed over the processes, bytes. */
export function rssBytes(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + statusKiB(pid, 'VmRSS') * 1024, 0)
}

/** Peak resident memory (VmHWM) summed over the processes, bytes: exact for one process, an upper bound for several. */
export function hwmBytes(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + statusKiB(pid, 'VmHWM') * 1024, 0)
}

/** Resets VmHWM to the current RSS (`echo 5 > clear_refs`); false where the kernel or permissions refuse. */
export function resetHwm(pids: readonly number[]): boolean {
  let ok = true
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${String(pid)}/clear_refs`, '5')
    } catch {
      ok = false
    }
  }
  return ok
}

/** Peak resident memory: summed over the processes, and of the largest single process. */
export interface RssPeak {
  /** Peak of the sum over the process tree, bytes. */
  readonly sum: number
  /** Largest peak of any one process of the tree, bytes (the process doing the work, e.g. the filling worker). */
  readonly maxProcess: number
}

/**
 * Samples the RSS of a process tree every `everyMs` until stopped: the peak of the sum and the
 * peak of each process. With `hwm` (VmHWM was reset before), each process's own kernel-kept
 * peak also counts, so a spike between two samples is not missed for the single-process figure.
 */
export function sampleRss(rootPid: number, everyMs = 50, hwm = false): { stop: () => RssPeak } {
  let peakSum = 0
  const peakOf = new Map<number, number>()
  let pids = processTree(rootPid)
  let n = 0
  const sample = (): void => {
    let sum = 0
    for (const pid of pids) {
      const rss = rssBytes([pid])
      sum += rss
      peakOf.set(pid, Math.max(peakOf.get(pid) ?? 0, rss))
    }
    peakSum = Math.max(peakSum, sum)
  }
  const timer = setInterval(() => {
    if (++n % 20 === 0) pids = processTree(rootPid)
    sample()
  }, everyMs)
  sample()
  return {
    stop: () => {
      clearInterval(timer)
      sample()
      if (hwm) for (const pid of pids) peakOf.set(pid, Math.max(peakOf.get(pid) ?? 0, hwmBytes([pid])))
      return { sum: peakSum, maxProcess: Math.max(0, ...peakOf.values()) }
    },
  }
}

/** CPU seconds the whole machine spent busy (all cores, everything but idle and iowait), from /proc/stat. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const v = line.trim().split(/\s+/).slice(1).map(Number)
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0)
  return (total - (v[3] ?? 0) - (v[4] ?? 0)) / TICKS_PER_SECOND
}
