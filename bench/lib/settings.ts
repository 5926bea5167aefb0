/** Bench settings: the one place the bench reads its environment (BENCH_*), with defaults sized so the whole run stays within about ten minutes. */
import { isAbsolute, join } from 'node:path'

export const WORKLOADS = ['hit-4k', 'hit-64m', 'miss-4k', 'herd', 'mirror-1g', 'put-get', 'miss-256m', 'conn-1000'] as const
export type WorkloadName = (typeof WORKLOADS)[number]

export interface Settings {
  /** Measured seconds of each wrk run. */
  readonly seconds: number
  /** Warm-up seconds before each measured wrk run (not recorded). */
  readonly warmupSeconds: number
  /** wrk threads (it shares the machine's cores with the servers). */
  readonly threads: number
  /** Origin delay before headers in the miss workload, ms. */
  readonly missLatencyMs: number
  /** Origin delay in the herd workload, ms. */
  readonly herdLatencyMs: number
  readonly herdRounds: number
  readonly bigRounds: number
  /** Keys in the PUT/GET workload (requests wrap around them). */
  readonly putGetKeys: number
  readonly mirrorstoreArgs: readonly string[]
  readonly nginxWorkers: string
  readonly only: readonly WorkloadName[]
  /** Parent of the stores; must be a real disk, not tmpfs. */
  readonly workDir: string
  readonly keepWork: boolean
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new Error(`Invalid ${name} "${raw}": expected a non-negative number`)
  return n
}

export function loadSettings(env: NodeJS.ProcessEnv, repo: string): Settings {
  const only = (env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const w of only) if (!(WORKLOADS as readonly string[]).includes(w)) throw new Error(`Invalid BENCH_ONLY "${w}": expected some of ${WORKLOADS.join(', ')}`)
  const work = env.BENCH_WORK_DIR ?? join(repo, 'bench/.work')
  return {
    seconds: num(env, 'BENCH_DURATION', 8),
    warmupSeconds: num(env, 'BENCH_WARMUP', 2),
    threads: num(env, 'BENCH_THREADS', 2),
    missLatencyMs: num(env, 'BENCH_ORIGIN_LATENCY_MS', 0),
    herdLatencyMs: num(env, 'BENCH_HERD_LATENCY_MS', 300),
    herdRounds: Math.max(1, num(env, 'BENCH_HERD_ROUNDS', 3)),
    bigRounds: Math.max(1, num(env, 'BENCH_BIG_ROUNDS', 3)),
    putGetKeys: Math.max(100, num(env, 'BENCH_PUTGET_KEYS', 5000)),
    mirrorstoreArgs: (env.BENCH_MIRRORSTORE_ARGS ?? '').split(/\s+/).filter((s) => s !== ''),
    nginxWorkers: env.BENCH_NGINX_WORKERS ?? 'auto',
    only: only.length > 0 ? (only as WorkloadName[]) : WORKLOADS,
    workDir: isAbsolute(work) ? work : join(repo, work),
    keepWork: env.BENCH_KEEP_WORK === '1',
  }
}
