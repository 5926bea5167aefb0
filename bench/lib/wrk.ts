/**
 * Runs wrk against 127.0.0.1 for a fixed time with one of the Lua scripts in bench/lua/, keeps
 * its raw output, and returns the summary printed by common.lua plus wrk's own CPU time (bash's
 * `times` after wrk exits), so the report can tell when the load generator was the limit.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startProcess } from './procs.js'

export interface WrkSummary {
  readonly requests: number
  readonly bytes: number
  readonly durationUs: number
  readonly connectErrors: number
  readonly readErrors: number
  readonly writeErrors: number
  readonly statusErrors: number
  readonly timeouts: number
  readonly p50Us: number
  readonly p90Us: number
  readonly p99Us: number
  readonly maxUs: number
  readonly meanUs: number
  /** requests.lua only: the smallest next-request index over wrk's threads (-1 otherwise). */
  readonly minCursor: number
}

export interface WrkResult extends WrkSummary {
  /** user + system CPU seconds of wrk itself. */
  readonly wrkCpuSeconds: number
}

export interface WrkRun {
  readonly port: number
  readonly luaDir: string
  readonly script: 'paths.lua' | 'miss.lua' | 'requests.lua'
  readonly scriptArgs: readonly string[]
  readonly connections: number
  readonly threads: number
  readonly seconds: number
  /** Where the raw output goes (bench/results/raw/...). */
  readonly rawFile: string
}

function seconds(s: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(s)
  return m === null ? 0 : Number(m[1]) * 60 + Number(m[2])
}

export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const args = [
    '-t', String(Math.min(run.threads, run.connections)),
    '-c', String(run.connections),
    '-d', `${String(run.seconds)}s`,
    '--timeout', '60s',
    '-s', join(run.luaDir, run.script),
    `http://127.0.0.1:${String(run.port)}/`,
    '--', ...run.scriptArgs,
  ]
  // `times` prints the shell's, then its children's, user and system time.
  const p = startProcess('bash', ['-c', 'ulimit -n 20000; wrk "$@"; rc=$?; times; exit $rc', 'wrk', ...args])
  const code = await new Promise<number | null>((resolve) => p.child.once('exit', (c) => resolve(c)))
  const out = p.output()
  writeFileSync(run.rawFile, `$ wrk ${args.join(' ')}\n${out}`)
  const m = /BENCHJSON (\{.*\})/.exec(out)
  if (code !== 0 || m?.[1] === undefined) throw new Error(`wrk failed (exit ${String(code)}): ${out.slice(-2000)}`)
  const timesLines = out.trim().split('\n').slice(-1)[0]?.trim().split(/\s+/) ?? []
  return { ...(JSON.parse(m[1]) as WrkSummary), wrkCpuSeconds: seconds(timesLines[0] ?? '') + seconds(timesLines[1] ?? '') }
}
