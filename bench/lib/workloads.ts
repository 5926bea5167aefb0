/**
 * The workloads. Each runs every system it applies to in turn, against the same origin objects
 * and with the same concurrency, and returns one row per system. Origin paths are `/<size>/<name>`
 * (see origin.ts); names carry the system so no system ever finds another's object.
 */
import { writeFileSync } from 'node:fs'
import { Agent } from 'node:http'
import { join } from 'node:path'
import { signV1 } from '../../src/auth/sign.js'
import { fetchLocal, parallelGets } from './http.js'
import { measureWrk, type Context, type Row } from './measure.js'
import { cpuSeconds, hwmBytes, processTree, resetHwm, sampleRss, type RssPeak } from './procs.js'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET, BUCKET, type System } from './systems.js'

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

/** GETs each path once (concurrency `parallel`) so the system holds it; fails on a wrong status or length. */
async function prefill(sys: System, originPaths: readonly string[], size: number, parallel = 8): Promise<void> {
  const queue = [...originPaths]
  const agent = new Agent({ keepAlive: true, maxSockets: parallel })
  const worker = async (): Promise<void> => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
      const r = await fetchLocal(sys.port, sys.objectPath(p), { agent })
      if (r.status !== 200 || r.bytes !== size) throw new Error(`${sys.name}: prefill of ${p} answered ${r.status} with ${r.bytes} bytes`)
    }
  }
  try {
    await Promise.all(Array.from({ length: parallel }, worker))
  } finally {
    agent.destroy()
  }
}

function peakFields(peak: RssPeak): Pick<Row, 'peakRssMB' | 'peakRssProcMB'> {
  return { peakRssMB: peak.sum / 1e6, peakRssProcMB: peak.maxProcess / 1e6 }
}

function pathsFile(ctx: Context, name: string, paths: readonly string[]): string {
  const file = join(ctx.rawDir, `${name}.paths`)
  writeFileSync(file, paths.join('\n') + '\n')
  return file
}

/** 1. Hits of 4 KiB objects, 32 connections: 256 objects stored first, then GET round robin. */
export async function hit4k(ctx: Context, systems: readonly System[]): Promise<Row[]> {
  const originPaths = Array.from({ length: 256 }, (_, i) => `/${String(4 * KiB)}/h${String(i)}`)
  const rows: Row[] = []
  for (const sys of systems) {
    await prefill(sys, originPaths, 4 * KiB)
    const file = pathsFile(ctx, `hit-4k.${sys.name}`, originPaths.map((p) => sys.objectPath(p)))
    rows.push(await measureWrk(ctx, sys, { workload: 'hit-4k', script: 'paths.lua', scriptArgs: [file], connections: 32 }))
  }
  return rows
}

/** 2. Hits of one 64 MiB object, 4 connections: bandwidth. */
export async function hit64m(ctx: Context, systems: readonly System[]): Promise<Row[]> {
  const originPath = `/${String(64 * MiB)}/big64`
  const rows: Row[] = []
  for (const sys of systems) {
    await prefill(sys, [originPath], 64 * MiB, 1)
    const file = pathsFile(ctx, `hit-64m.${sys.name}`, [sys.objectPath(originPath)])
    rows.push(await measureWrk(ctx, sys, { workload: 'hit-64m', script: 'paths.lua', scriptArgs: [file], connections: 4 }))
  }
  return rows
}

/** 3. Misses of distinct 4 KiB keys, 32 connections: every request goes to the origin once (a migration). */
export async function miss4k(ctx: Context, systems: readonly System[]): Promise<Row[]> {
  const rows: Row[] = []
  ctx.origin.latencyMs = ctx.settings.missLatencyMs
  try {
    for (const sys of systems) {
      const prefix = (phase: string): string => sys.objectPath(`/${String(4 * KiB)}/miss-${sys.name}-${phase}-`)
      const row = await measureWrk(ctx, sys, {
        workload: 'miss-4k',
        script: 'miss.lua',
        scriptArgs: [prefix('m')],
        warmupArgs: [prefix('w')],
        connections: 32,
      })
      row.detail = `origin latency ${String(ctx.settings.missLatencyMs)} ms; origin fetches / requests ${((row.originFetches ?? 0) / Math.max(1, row.requests ?? 0)).toFixed(3)}`
      rows.push(row)
    }
  } finally {
    ctx.origin.latencyMs = 0
  }
  return rows
}

/**
 * 4. Herd: 200 concurrent GETs (200 connections, one curl process) of one missing 1 MiB key on a
 * slow origin. Counts origin fetches and the time until all 200 complete, against one direct GET
 * to the origin (the target's yardstick) and, for context, 200 at once straight from the origin.
 */
export async function herd(ctx: Context, systems: readonly System[]): Promise<{ rows: Row[]; originMs: number }> {
  const { settings, origin } = ctx
  origin.latencyMs = settings.herdLatencyMs
  const rows: Row[] = []
  try {
    const direct: number[] = []
    const originPort = Number(new URL(origin.url).port)
    for (let r = 0; r < settings.herdRounds; r++) direct.push((await fetchLocal(originPort, `/${String(MiB)}/herd-direct-${String(r)}`)).totalMs)
    const originMs = median(direct)
    // The same client straight against the origin, 200 at once: what the client and the origin
    // take with nothing in between (the origin answers each from memory after its delay).
    const directHerd: number[] = []
    for (let r = 0; r < settings.herdRounds; r++) directHerd.push((await parallelGets(originPort, `/${String(MiB)}/herd-direct-all-${String(r)}`, 200)).totalMs)
    for (const sys of systems) {
      const times: number[] = []
      const fetches: number[] = []
      let bad = 0
      const pids = processTree(sys.pid)
      const cpu0 = cpuSeconds(pids)
      for (let r = 0; r < settings.herdRounds; r++) {
        const path = sys.objectPath(`/${String(MiB)}/herd-${sys.name}-${String(r)}`)
        const f0 = origin.fetches()
        const herdRun = await parallelGets(sys.port, path, 200)
        times.push(herdRun.totalMs)
        fetches.push(origin.fetches() - f0)
        bad += 200 - herdRun.replies.filter((x) => x.status === 200 && x.bytes === MiB).length
      }
      rows.push({
        workload: 'herd',
        system: sys.name,
        requests: 200 * settings.herdRounds,
        errors: bad,
        totalMs: median(times),
        originFetches: Math.max(...fetches),
        cpuUsPerReq: ((cpuSeconds(pids) - cpu0) / (200 * settings.herdRounds)) * 1e6,
        limit: 'origin latency',
        detail: `rounds ${times.map((t) => t.toFixed(0)).join('/')} ms; fetches per round ${fetches.join('/')}; origin alone ${originMs.toFixed(0)} ms; 200 at once straight from the origin ${median(directHerd).toFixed(0)} ms`,
      })
    }
    return { rows, originMs }
  } finally {
    origin.latencyMs = 0
  }
}

/**
 * 5. Mirror of a 1 GiB object: one client misses it, a second joins 200 ms later; both read it all.
 * Peak RSS of the server's process tree, summed (sampled every 50 ms), and of its largest single
 * process, the one doing the fill (sampled, and VmHWM after a reset).
 */
export async function mirror1g(ctx: Context, systems: readonly System[]): Promise<Row[]> {
  const rows: Row[] = []
  for (const sys of systems) {
    const path = sys.objectPath(`/${String(GiB)}/g1-${sys.name}`)
    const pids = processTree(sys.pid)
    const hwmReset = resetHwm(pids)
    const rss = sampleRss(sys.pid, 50, hwmReset)
    const f0 = ctx.origin.fetches()
    const cpu0 = cpuSeconds(pids)
    const t0 = performance.now()
    const first = fetchLocal(sys.port, path)
    await new Promise((r) => setTimeout(r, 200))
    const second = fetchLocal(sys.port, path)
    const replies = await Promise.all([first, second])
    const totalMs = performance.now() - t0
    const peak = rss.stop()
    rows.push({
      workload: 'mirror-1g',
      system: sys.name,
      requests: 2,
      errors: replies.filter((x) => x.status !== 200 || x.bytes !== GiB).length,
      mbps: (2 * GiB) / (totalMs / 1000) / 1e6,
      totalMs,
      originFetches: ctx.origin.fetches() - f0,
      ...peakFields(peak),
      cpuUsPerReq: ((cpuSeconds(pids) - cpu0) / 2) * 1e6,
      detail: `2 clients (2nd joins after 200 ms); RSS of ${String(pids.length)} process(es): sum sampled every 50 ms, largest process ${hwmReset ? 'by VmHWM' : 'sampled'}`,
    })
  }
  return rows
}

/** Writes a Lua spec for requests.lua: `{ threads, body, {method, path, {headers}}... }`. */
function requestSpec(ctx: Context, name: string, threads: number, body: string | undefined, reqs: readonly [string, string, Record<string, string>][]): string {
  const lua = (s: string): string => JSON.stringify(s) // ASCII only here, where JSON and Lua strings agree
  const lines = reqs.map(([m, p, h]) => `{${lua(m)},${lua(p)},{${Object.entries(h).map(([k, v]) => `[${lua(k)}]=${lua(v)}`).join(',')}}},`)
  const file = join(ctx.rawDir, `${name}.requests.lua`)
  writeFileSync(file, `return { threads = ${String(threads)}, body = ${body === undefined ? 'nil' : lua(body)},\n${lines.join('\n')}\n}\n`)
  return file
}

/** Requests for one phase: Mirrorstore's signed with V1 (x-oss-date header), s3rver's unsigned. */
function putGetRequests(sys: System, method: 'PUT' | 'GET', keys: readonly string[]): [string, string, Record<string, string>][] {
  const date = new Date().toUTCString()
  return keys.map((key) => {
    const path = `/${BUCKET}/${key}`
    if (sys.name !== 'mirrorstore') return [method, path, {}]
    const headers = { 'x-oss-date': date }
    const authorization = signV1({ method, bucket: BUCKET, key, headers, secret: ACCESS_KEY_SECRET, accessKeyId: ACCESS_KEY_ID })
    return [method, path, { ...headers, Authorization: authorization }]
  })
}

/**
 * 6. PUT then GET of 4 KiB objects, 32 connections. PUTs cycle over `putGetKeys` keys (a warm-up
 * on other keys first); GETs then cycle over the keys the PUT phase surely wrote.
 */
export async function putGet(ctx: Context, systems: readonly System[]): Promise<Row[]> {
  const { settings } = ctx
  const body = 'b'.repeat(4 * KiB)
  const threads = Math.min(settings.threads, 32)
  const rows: Row[] = []
  for (const sys of systems) {
    const keys = Array.from({ length: settings.putGetKeys }, (_, i) => `pg/${sys.name}-k${String(i)}`)
    const warmKeys = keys.slice(0, 1000).map((k) => `${k}-warm`)
    const putFile = requestSpec(ctx, `put-4k.${sys.name}`, threads, body, putGetRequests(sys, 'PUT', keys))
    const warmFile = requestSpec(ctx, `put-4k.${sys.name}.warm`, threads, body, putGetRequests(sys, 'PUT', warmKeys))
    const put = await measureWrk(ctx, sys, { workload: 'put-4k', script: 'requests.lua', scriptArgs: [putFile], warmupArgs: [warmFile], connections: 32 })
    put.detail = sys.name === 'mirrorstore' ? 'V1 header signatures, pre-signed' : 'unsigned'
    rows.push(put)
    // Thread t sent keys t, t+T, …, up to its cursor; the last connections/T of each may still
    // have been in flight when wrk stopped, so trust keys below min(cursor) − connections.
    const sure = (put.minCursor ?? 0) - 32
    const written = Math.max(1, sure >= keys.length ? keys.length : sure)
    delete put.minCursor
    const getFile = requestSpec(ctx, `get-4k.${sys.name}`, threads, undefined, putGetRequests(sys, 'GET', keys.slice(0, written)))
    const get = await measureWrk(ctx, sys, { workload: 'get-4k', script: 'requests.lua', scriptArgs: [getFile], connections: 32 })
    delete get.minCursor
    get.detail = `${sys.name === 'mirrorstore' ? 'V1 header signatures, pre-signed' : 'unsigned'}; ${String(written)} keys`
    rows.push(get)
  }
  return rows
}

/** 7. Miss of one 256 MiB object by one client: time to first byte and total, median of rounds. */
export async function miss256m(ctx: Context, systems: readonly System[]): Promise<Row[]> {
  const { settings, origin } = ctx
  const size = 256 * MiB
  const originPort = Number(new URL(origin.url).port)
  const direct = await fetchLocal(originPort, `/${String(size)}/b256-direct`)
  const rows: Row[] = []
  for (const sys of systems) {
    const ttfb: number[] = []
    const total: number[] = []
    let errors = 0
    const f0 = origin.fetches()
    const pids = processTree(sys.pid)
    const hwmReset = resetHwm(pids)
    const peak = sampleRss(sys.pid, 50, hwmReset)
    for (let r = 0; r < settings.bigRounds; r++) {
      const reply = await fetchLocal(sys.port, sys.objectPath(`/${String(size)}/b256-${sys.name}-${String(r)}`))
      if (reply.status !== 200 || reply.bytes !== size) errors++
      ttfb.push(reply.ttfbMs)
      total.push(reply.totalMs)
    }
    rows.push({
      workload: 'miss-256m',
      system: sys.name,
      requests: settings.bigRounds,
      errors,
      ttfbMs: median(ttfb),
      totalMs: median(total),
      mbps: size / (median(total) / 1000) / 1e6,
      originFetches: origin.fetches() - f0,
      ...peakFields(peak.stop()),
      detail: `TTFB ${ttfb.map((t) => t.toFixed(1)).join('/')} ms, total ${total.map((t) => t.toFixed(0)).join('/')} ms; origin alone TTFB ${direct.ttfbMs.toFixed(1)} ms, total ${direct.totalMs.toFixed(0)} ms`,
    })
  }
  return rows
}

/** 8. 1,000 connections each downloading a stored 1 MiB object: peak RSS of the server while wrk runs. */
export async function conn1000(ctx: Context, systems: readonly System[]): Promise<Row[]> {
  const originPath = `/${String(MiB)}/c1000`
  const rows: Row[] = []
  for (const sys of systems) {
    await prefill(sys, [originPath], MiB, 1)
    const file = pathsFile(ctx, `conn-1000.${sys.name}`, [sys.objectPath(originPath)])
    const pids = processTree(sys.pid)
    const hwmReset = resetHwm(pids)
    const row = await measureWrk(ctx, sys, { workload: 'conn-1000', script: 'paths.lua', scriptArgs: [file], connections: 1000, warmup: false }, hwmReset)
    if (hwmReset && pids.length === 1) row.peakRssMB = Math.max(row.peakRssMB ?? 0, hwmBytes(pids) / 1e6)
    rows.push(row)
  }
  return rows
}
