/**
 * `npm run bench`: Mirrorstore beside its peers in one run on loopback (STYLE.md §5). Starts the
 * bench origin, Mirrorstore, nginx proxy_store, nginx proxy_cache + proxy_cache_lock and s3rver;
 * runs each workload against each system it applies to; prints the table with Mirrorstore / peer
 * ratios and writes bench/results/latest.json, bench/results/ratios.png and raw wrk output under
 * bench/results/raw/. Every process it starts is stopped on success, failure and SIGINT/SIGTERM.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Context, Row } from './lib/measure.js'
import { startOrigin, type BenchOrigin } from './lib/origin.js'
import { killAllNow, stopAll } from './lib/procs.js'
import { chart, markdownTable, notes, notesText, ratios, textTable } from './lib/report.js'
import { loadSettings, type WorkloadName } from './lib/settings.js'
import { startMirrorstore, startNginx, startS3rver, type Paths, type System, type SystemName } from './lib/systems.js'
import { conn1000, herd, hit4k, hit64m, miss256m, miss4k, mirror1g, putGet } from './lib/workloads.js'

// dist/bench/run.js → the repository root.
const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..')

function sh(cmd: string, args: readonly string[]): string {
  // nginx -v prints on stderr, wrk -v exits 1: keep whatever either stream says.
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  return `${r.stdout}${r.stderr}`.trim()
}

function machine(workDir: string): Record<string, string | number> {
  const fsType = sh('stat', ['-f', '-c', '%T', workDir])
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: sh('uname', ['-r']),
    node: process.version,
    nginx: sh('nginx', ['-v']).replace(/^nginx version: /, ''),
    wrk: (sh('wrk', ['-v']).split('\n')[0] ?? '').replace(/ \[.*$/, ''),
    s3rver: (JSON.parse(readFileSync(join(REPO, 'bench/.deps/node_modules/s3rver/package.json'), 'utf8')) as { version: string }).version,
    workDir,
    workDirFs: fsType,
  }
}

const started: System[] = []
let origin: BenchOrigin | undefined
/** This run's store directories; removed at the end unless BENCH_KEEP_WORK=1. */
let runWork: string | undefined
let keepWork = false

async function cleanup(): Promise<void> {
  await Promise.all(started.map((s) => s.stop().catch(() => undefined)))
  await stopAll()
  await origin?.close()
  if (runWork !== undefined && !keepWork) rmSync(runWork, { recursive: true, force: true })
}

function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`bench: ${signal}, stopping every process it started\n`)
  void cleanup().finally(() => process.exit(130))
}

async function main(): Promise<void> {
  const settings = loadSettings(process.env, REPO)
  const resultsDir = join(REPO, 'bench/results')
  const rawDir = join(resultsDir, 'raw')
  const work = join(settings.workDir, `run-${String(process.pid)}`)
  runWork = work
  keepWork = settings.keepWork
  mkdirSync(rawDir, { recursive: true })
  mkdirSync(work, { recursive: true })
  const info = machine(work)
  if (info.workDirFs === 'tmpfs') process.stderr.write(`bench: warning: ${work} is on tmpfs; fsync costs nothing there\n`)
  const log = (line: string): void => void process.stdout.write(`${line}\n`)
  log(`bench: ${String(info.cpus)} cores, stores in ${work} (${String(info.workDirFs)}), ${String(settings.seconds)} s per run after ${String(settings.warmupSeconds)} s warm-up`)

  origin = await startOrigin()
  const paths: Paths = { repo: REPO, work }
  const ms = await startMirrorstore(paths, origin.url, settings.mirrorstoreArgs)
  started.push(ms)
  const store = await startNginx('nginx-store', paths, origin.url, settings.nginxWorkers)
  started.push(store)
  const cache = await startNginx('nginx-cache', paths, origin.url, settings.nginxWorkers)
  started.push(cache)
  const s3 = await startS3rver(paths)
  started.push(s3)
  const mirrors = [ms, store, cache]
  const ctx: Context = { settings, origin, luaDir: join(REPO, 'bench/lua'), rawDir }

  const rows: Row[] = []
  let herdOriginMs: number | undefined
  const steps: Record<WorkloadName, () => Promise<void>> = {
    'hit-4k': async () => void rows.push(...(await hit4k(ctx, mirrors))),
    'hit-64m': async () => void rows.push(...(await hit64m(ctx, mirrors))),
    'miss-4k': async () => void rows.push(...(await miss4k(ctx, mirrors))),
    herd: async () => {
      const h = await herd(ctx, mirrors)
      herdOriginMs = h.originMs
      rows.push(...h.rows)
    },
    'mirror-1g': async () => void rows.push(...(await mirror1g(ctx, mirrors))),
    'put-get': async () => void rows.push(...(await putGet(ctx, [ms, s3]))),
    'miss-256m': async () => void rows.push(...(await miss256m(ctx, mirrors))),
    'conn-1000': async () => void rows.push(...(await conn1000(ctx, mirrors))),
  }
  for (const w of settings.only) {
    const t0 = Date.now()
    log(`bench: ${w}…`)
    await steps[w]()
    log(`bench: ${w} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  }

  const rs = ratios(rows)
  const ns = notes(rows, rs, herdOriginMs)
  const title = `Mirrorstore / peer, same run (${new Date().toISOString().slice(0, 10)}, ${String(info.cpus)} cores, Node ${process.version})`
  const png = chart(rs, resultsDir, title)
  const systems: Record<SystemName, string> = {
    mirrorstore: `dist/src/main.js serve --mirror-qps 0 --mirror-bandwidth 0 --mirror-allow-private --log-level warn ${settings.mirrorstoreArgs.join(' ')}`.trim(),
    'nginx-store': `nginx ${String(info.nginx)} proxy_store, worker_processes ${settings.nginxWorkers}`,
    'nginx-cache': `nginx ${String(info.nginx)} proxy_cache + proxy_cache_lock, worker_processes ${settings.nginxWorkers}`,
    s3rver: `s3rver ${String(info.s3rver)}`,
  }
  const result = {
    date: new Date().toISOString(),
    command: 'npm run bench',
    machine: info,
    settings: { ...settings, workDir: relative(REPO, settings.workDir) || '.' },
    systems,
    notes: ns,
    rows,
    ratios: rs,
    markdown: markdownTable(rows, rs),
  }
  writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify(result, null, 2) + '\n')
  log('')
  log(textTable(rows, rs))
  log('')
  log('Targets (Mirrorstore, same run):')
  log(notesText(ns))
  log('')
  log(`wrote ${relative(REPO, join(resultsDir, 'latest.json'))}, ${relative(REPO, png)}, raw wrk output in ${relative(REPO, rawDir)}/`)
}

process.once('SIGINT', onSignal)
process.once('SIGTERM', onSignal)
process.once('exit', killAllNow)
try {
  await main()
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exitCode = 1
} finally {
  await cleanup()
}
