/**
 * One measurement of one system: wrk for a fixed time (after a warm-up) while the server's CPU
 * (utime + stime over its process tree), its RSS and the origin's fetch count are read before and
 * after. Also decides what limited the run on this shared 2-core machine.
 */
import { cpus } from 'node:os'
import { join } from 'node:path'
import type { BenchOrigin } from './origin.js'
import { cpuSeconds, machineBusySeconds, processTree, sampleRss } from './procs.js'
import type { Settings } from './settings.js'
import type { System, SystemName } from './systems.js'
import { runWrk, type WrkRun } from './wrk.js'

export interface Row {
  readonly workload: string
  readonly system: SystemName
  requests?: number
  rps?: number
  mbps?: number
  p50Ms?: number
  p99Ms?: number
  errors?: number
  /** Server CPU time per request (all its processes), microseconds. */
  cpuUsPerReq?: number
  /** Share of one core used by the server, wrk and the origin during the run, %. */
  serverCpuPct?: number
  wrkCpuPct?: number
  originCpuPct?: number
  /** CPU taken by processes outside the bench (other jobs on the machine) during the run, % of one core. */
  otherCpuPct?: number
  originFetches?: number
  /** Peak RSS summed over the server's processes, MB. */
  peakRssMB?: number
  /** Peak RSS of the largest single server process (e.g. the worker doing a fill), MB. */
  peakRssProcMB?: number
  ttfbMs?: number
  totalMs?: number
  limit?: string
  detail?: string
  /** requests.lua runs: the smallest next index over wrk's threads. */
  minCursor?: number
}

export interface Context {
  readonly settings: Settings
  readonly origin: BenchOrigin
  readonly luaDir: string
  readonly rawDir: string
}

const CORES = cpus().length

/**
 * What bounded a timed run: the whole machine's CPU (and then whether wrk or the server took more
 * of it), one core of a single-process server, or neither (origin latency, disk, the protocol).
 */
export function limitOf(serverCpu: number, wrkCpu: number, originCpu: number, otherCpu: number, seconds: number, serverProcs: number): string {
  const used = serverCpu + wrkCpu + originCpu + Math.max(0, otherCpu)
  if (used >= 0.85 * CORES * seconds) {
    if (otherCpu >= 0.25 * seconds && otherCpu >= Math.min(serverCpu, wrkCpu)) return 'CPU: other processes on the machine'
    return wrkCpu >= serverCpu ? 'CPU: load generator (wrk ≥ server)' : 'CPU (shared with wrk)'
  }
  if (serverProcs === 1 && serverCpu >= 0.9 * seconds) return 'server: 1 core'
  return 'not CPU'
}

export interface WrkMeasure extends Omit<WrkRun, 'port' | 'luaDir' | 'rawFile' | 'seconds' | 'threads'> {
  readonly workload: string
  /** Script args for the warm-up run (e.g. other keys for misses); default the same. */
  readonly warmupArgs?: readonly string[]
  readonly warmup?: boolean
}

export async function measureWrk(ctx: Context, sys: System, m: WrkMeasure, hwm = false): Promise<Row> {
  const { settings } = ctx
  const base = { port: sys.port, luaDir: ctx.luaDir, threads: settings.threads, connections: m.connections, script: m.script }
  if (m.warmup !== false && settings.warmupSeconds > 0) {
    await runWrk({
      ...base,
      scriptArgs: m.warmupArgs ?? m.scriptArgs,
      seconds: settings.warmupSeconds,
      rawFile: join(ctx.rawDir, `${m.workload}.${sys.name}.warmup.txt`),
    })
  }
  const pids = processTree(sys.pid)
  const cpu0 = cpuSeconds(pids)
  const fetches0 = ctx.origin.fetches()
  const self0 = process.cpuUsage()
  const busy0 = machineBusySeconds()
  const rss = sampleRss(sys.pid, 50, hwm)
  const w = await runWrk({ ...base, scriptArgs: m.scriptArgs, seconds: settings.seconds, rawFile: join(ctx.rawDir, `${m.workload}.${sys.name}.txt`) })
  const peak = rss.stop()
  const serverCpu = cpuSeconds(pids) - cpu0
  const self = process.cpuUsage(self0)
  const originCpu = (self.user + self.system) / 1e6
  const otherCpu = machineBusySeconds() - busy0 - serverCpu - w.wrkCpuSeconds - originCpu
  const secs = w.durationUs / 1e6
  const errors = w.connectErrors + w.readErrors + w.writeErrors + w.statusErrors + w.timeouts
  return {
    workload: m.workload,
    system: sys.name,
    requests: w.requests,
    rps: w.requests / secs,
    mbps: w.bytes / secs / 1e6,
    p50Ms: w.p50Us / 1000,
    p99Ms: w.p99Us / 1000,
    errors,
    cpuUsPerReq: w.requests > 0 ? (serverCpu / w.requests) * 1e6 : 0,
    serverCpuPct: (serverCpu / secs) * 100,
    wrkCpuPct: (w.wrkCpuSeconds / secs) * 100,
    originCpuPct: (originCpu / secs) * 100,
    otherCpuPct: Math.max(0, (otherCpu / secs) * 100),
    originFetches: ctx.origin.fetches() - fetches0,
    peakRssMB: peak.sum / 1e6,
    peakRssProcMB: peak.maxProcess / 1e6,
    ...(w.minCursor >= 0 ? { minCursor: w.minCursor } : {}),
    limit: limitOf(serverCpu, w.wrkCpuSeconds, originCpu, otherCpu, secs, pids.length),
  }
}
