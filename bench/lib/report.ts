/**
 * Turns rows into ratios (Mirrorstore / peer, same run), target notes, the printed table, the
 * README's Markdown table, latest.json and the PNG chart (gnuplot).
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Row } from './measure.js'
import type { SystemName } from './systems.js'

type Metric = 'rps' | 'mbps' | 'totalMs' | 'ttfbMs' | 'peakRssMB' | 'peakRssProcMB'

interface RatioSpec {
  readonly workload: string
  readonly metric: Metric
  readonly label: string
  readonly better: 'higher' | 'lower'
  /** The peer the target names, and the target on Mirrorstore / that peer. */
  readonly target?: { readonly peer: SystemName; readonly op: '>=' | '<='; readonly value: number }
}

const SPECS: readonly RatioSpec[] = [
  { workload: 'hit-4k', metric: 'rps', label: 'hit 4KiB req/s', better: 'higher', target: { peer: 'nginx-store', op: '>=', value: 0.8 } },
  { workload: 'hit-64m', metric: 'mbps', label: 'hit 64MiB MB/s', better: 'higher', target: { peer: 'nginx-store', op: '>=', value: 0.95 } },
  { workload: 'miss-4k', metric: 'rps', label: 'miss 4KiB req/s', better: 'higher', target: { peer: 'nginx-store', op: '>=', value: 1.0 } },
  { workload: 'herd', metric: 'totalMs', label: 'herd 200x1MiB time', better: 'lower' },
  { workload: 'mirror-1g', metric: 'peakRssMB', label: 'mirror 1GiB peak RSS, all processes', better: 'lower' },
  { workload: 'mirror-1g', metric: 'peakRssProcMB', label: 'mirror 1GiB peak RSS, largest process', better: 'lower' },
  { workload: 'put-4k', metric: 'rps', label: 'PUT 4KiB req/s', better: 'higher', target: { peer: 's3rver', op: '>=', value: 10 } },
  { workload: 'get-4k', metric: 'rps', label: 'GET 4KiB signed req/s', better: 'higher', target: { peer: 's3rver', op: '>=', value: 10 } },
  { workload: 'miss-256m', metric: 'ttfbMs', label: 'miss 256MiB TTFB', better: 'lower', target: { peer: 'nginx-store', op: '<=', value: 1.2 } },
  { workload: 'miss-256m', metric: 'totalMs', label: 'miss 256MiB total', better: 'lower', target: { peer: 'nginx-store', op: '<=', value: 1.1 } },
  { workload: 'conn-1000', metric: 'peakRssMB', label: '1000 conns peak RSS', better: 'lower' },
]

export interface Ratio {
  readonly workload: string
  readonly metric: Metric
  readonly label: string
  readonly better: 'higher' | 'lower'
  readonly peer: SystemName
  /** Mirrorstore / peer on `metric`. */
  readonly value: number
}

export interface Note {
  readonly workload: string
  readonly target: string
  readonly measured: string
  readonly met: boolean
}

export function ratios(rows: readonly Row[]): Ratio[] {
  const out: Ratio[] = []
  for (const spec of SPECS) {
    const ms = rows.find((r) => r.workload === spec.workload && r.system === 'mirrorstore')?.[spec.metric]
    if (ms === undefined) continue
    for (const peer of rows.filter((r) => r.workload === spec.workload && r.system !== 'mirrorstore')) {
      const p = peer[spec.metric]
      if (p === undefined || p === 0) continue
      out.push({ workload: spec.workload, metric: spec.metric, label: spec.label, better: spec.better, peer: peer.system, value: ms / p })
    }
  }
  return out
}

export function notes(rows: readonly Row[], rs: readonly Ratio[], herdOriginMs: number | undefined): Note[] {
  const out: Note[] = []
  for (const spec of SPECS) {
    if (spec.target === undefined) continue
    const { peer, op, value } = spec.target
    const r = rs.find((x) => x.workload === spec.workload && x.metric === spec.metric && x.peer === peer)
    if (r === undefined) continue
    out.push({
      workload: spec.workload,
      target: `${spec.metric} ${op} ${String(value)}× ${peer}`,
      measured: `${r.value.toFixed(2)}×`,
      met: op === '>=' ? r.value >= value : r.value <= value,
    })
  }
  const ms = (w: string): Row | undefined => rows.find((r) => r.workload === w && r.system === 'mirrorstore')
  const herdRow = ms('herd')
  if (herdRow !== undefined && herdOriginMs !== undefined) {
    const fetchesOk = herdRow.originFetches === 1 && herdRow.errors === 0
    const timeOk = (herdRow.totalMs ?? Infinity) <= 1.5 * herdOriginMs
    out.push({
      workload: 'herd',
      target: '1 origin fetch, all 200 done ≤ 1.5× origin time',
      measured: `${String(herdRow.originFetches)} fetch(es), ${(herdRow.totalMs ?? 0).toFixed(0)} ms = ${((herdRow.totalMs ?? 0) / herdOriginMs).toFixed(2)}× origin ${herdOriginMs.toFixed(0)} ms`,
      met: fetchesOk && timeOk,
    })
  }
  // mirror-1g: the target is on the process doing the fill (the largest one); the sum over the
  // primary and every worker is stated beside it. conn-1000: on the sum.
  const fill = ms('mirror-1g')
  if (fill?.peakRssProcMB !== undefined && fill.peakRssMB !== undefined) {
    out.push({
      workload: 'mirror-1g',
      target: 'peak RSS of the process doing the fill < 200 MB',
      measured: `${fill.peakRssProcMB.toFixed(0)} MB (all processes summed: ${fill.peakRssMB.toFixed(0)} MB)`,
      met: fill.peakRssProcMB < 200,
    })
  }
  const conns = ms('conn-1000')
  if (conns?.peakRssMB !== undefined) {
    out.push({ workload: 'conn-1000', target: 'peak RSS (all processes summed) < 400 MB', measured: `${conns.peakRssMB.toFixed(0)} MB`, met: conns.peakRssMB < 400 })
  }
  return out
}

function f(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return ''
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

const HEAD = ['workload', 'system', 'req/s', 'MB/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'CPU % srv/wrk/other', 'origin fetches', 'peak RSS MB sum / largest proc', 'TTFB / total ms', 'errors', 'ratio MS/peer', 'limit']

function cells(row: Row, rs: readonly Ratio[]): string[] {
  const mine = rs.filter((r) => r.workload === row.workload && r.peer === row.system)
  return [
    row.workload,
    row.system,
    f(row.rps),
    f(row.mbps, row.mbps !== undefined && row.mbps < 10 ? 2 : 0),
    f(row.p50Ms, 2),
    f(row.p99Ms, 2),
    f(row.cpuUsPerReq, 0),
    row.serverCpuPct === undefined ? '' : `${f(row.serverCpuPct)}/${f(row.wrkCpuPct)}/${f(row.otherCpuPct)}`,
    f(row.originFetches),
    row.peakRssProcMB === undefined ? f(row.peakRssMB) : `${f(row.peakRssMB)} / ${f(row.peakRssProcMB)}`,
    row.ttfbMs !== undefined ? `${f(row.ttfbMs, 1)} / ${f(row.totalMs)}` : f(row.totalMs),
    f(row.errors),
    mine.map((r) => `${r.value.toFixed(2)}× ${r.metric}`).join(', '),
    row.limit ?? '',
  ]
}

export function textTable(rows: readonly Row[], rs: readonly Ratio[]): string {
  const body = rows.map((r) => cells(r, rs))
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)))
  const line = (cs: readonly string[]): string => cs.map((c, i) => (i < 2 || i >= 12 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')
  return [line(HEAD), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}

export function markdownTable(rows: readonly Row[], rs: readonly Ratio[]): string {
  const md = (cs: readonly string[]): string => `| ${cs.map((c) => c.replaceAll('|', '/')).join(' | ')} |`
  return [md(HEAD), md(HEAD.map(() => '---')), ...rows.map((r) => md(cells(r, rs)))].join('\n')
}

export function notesText(ns: readonly Note[]): string {
  return ns.map((n) => `${n.met ? 'met   ' : 'missed'}  ${n.workload}: ${n.target}; measured ${n.measured}`).join('\n')
}

/** A clustered bar chart of Mirrorstore / peer per metric, log scale, 1.0 marked. */
export function chart(rs: readonly Ratio[], outDir: string, title: string): string {
  const peers: SystemName[] = ['nginx-store', 'nginx-cache', 's3rver']
  const labels = [...new Set(rs.map((r) => `${r.label} (${r.better} better)`))]
  const dat = labels.map((label) => {
    const vals = peers.map((p) => rs.find((r) => `${r.label} (${r.better} better)` === label && r.peer === p)?.value)
    return `"${label}" ${vals.map((v) => (v === undefined ? '-' : v.toFixed(4))).join(' ')}`
  })
  const datFile = join(outDir, 'raw', 'ratios.dat')
  writeFileSync(datFile, dat.join('\n') + '\n')
  const png = join(outDir, 'ratios.png')
  const script = [
    'set terminal pngcairo noenhanced size 1400,750 font "sans,10"',
    'set bmargin 10',
    `set output "${png}"`,
    `set title "${title.replaceAll('"', "'")}"`,
    'set datafile missing "-"',
    'set style data histograms',
    'set style histogram clustered gap 1',
    'set style fill solid 0.85 border -1',
    'set boxwidth 0.9',
    'set logscale y 10',
    'set yrange [0.01:100]',
    'set ylabel "Mirrorstore / peer (log scale; see label for which way is better)"',
    'set xtics rotate by -30 left',
    'set grid ytics',
    'set key top left',
    'set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black"',
    `plot "${datFile}" using 2:xtic(1) title "vs nginx proxy_store", '' using 3 title "vs nginx proxy_cache+lock", '' using 4 title "vs s3rver"`,
  ].join('\n')
  execFileSync('gnuplot', [], { input: script })
  return png
}
