#!/usr/bin/env node
// `npm run bench:profile -- <scenario> [edge|peer|floor] [seconds]`: where a target's Worker spends
// its CPU in one scenario. Reuses the storage and credentials of the last `npm run bench`, starts
// the target's own build unminified, loads it as the bench does (8 connections) while the V8
// profiler samples it through wrangler's inspector, and prints the self time by module of the
// bundle (native and runtime frames count for the module that called them) and the top functions.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { combine, load } from './lib/measure.mjs'
import { scenarios } from './lib/scenarios.mjs'
import { start, targets } from './lib/targets.mjs'
import { BENCH_DIR, killAll, ROOT } from './lib/workers.mjs'

const [scenarioId = 'me', which = 'edge', seconds = '5'] = process.argv.slice(2)

/** Chrome DevTools protocol over the inspector's WebSocket (it wants an Origin it knows). */
const inspect = async (port) => {
  const [target] = await (await fetch(`http://127.0.0.1:${port}/json`)).json()
  const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: 'http://localhost' } })
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve)
    ws.addEventListener('error', reject)
  })
  let id = 0
  const pending = new Map()
  ws.addEventListener('message', (e) => {
    const msg = JSON.parse(e.data)
    pending.get(msg.id)?.(msg.result)
    pending.delete(msg.id)
  })
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      pending.set(++id, resolve)
      ws.send(JSON.stringify({ id, method, params }))
    })
  return { send, close: () => ws.close() }
}

/** The newest unminified bundle wrangler dev wrote for a config, and its module boundaries. */
const bundleModules = (config) => {
  const tmp = join(ROOT, dirname(config), '.wrangler', 'tmp')
  const [newest] = readdirSync(tmp)
    .filter((d) => d.startsWith('dev-'))
    .flatMap((d) => readdirSync(join(tmp, d)).map((f) => join(tmp, d, f)))
    .filter((f) => f.endsWith('.js'))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
  if (!newest) throw new Error(`No bundle of wrangler dev in ${tmp}`)
  const markers = []
  readFileSync(newest, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const m = /^\/\/ ((?:\.\.\/)*[\w@.-][\w@./-]*\.[cm]?[jt]sx?)$/.exec(line)
      if (m) markers.push([i, m[1].replace(/^(\.\.\/)+/, '')])
    })
  /** The module of a bundle line (0-based): a package for node_modules, the file for our code. */
  return (line) => {
    let lo = 0
    let hi = markers.length - 1
    let found = null
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (markers[mid][0] <= line) {
        found = markers[mid][1]
        lo = mid + 1
      } else hi = mid - 1
    }
    if (!found) return '(bundle glue)'
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(found)
    return pkg ? pkg[1] : found
  }
}

const main = async () => {
  const seeded = JSON.parse(readFileSync(join(BENCH_DIR, 'seeded.json'), 'utf8'))
  const scenario = scenarios(seeded).find((s) => s.id === scenarioId)
  if (!scenario?.[which]) throw new Error(`No scenario ${scenarioId} for ${which}`)
  const w = targets({ reuse: true })[which]
  const worker = await start(w, { extraArgs: ['--no-minify'] })
  const moduleOf = bundleModules(w.config)
  const inspector = await inspect(w.inspectorPort)
  await inspector.send('Profiler.enable')
  await inspector.send('Profiler.setSamplingInterval', { interval: 200 })
  await inspector.send('Profiler.start')
  const key = `${scenarioId}/${which}/profile`
  const result = combine([await load(worker.url, scenario[which], key, { seconds: Number(seconds), connections: 8 })])
  const { profile } = await inspector.send('Profiler.stop')
  inspector.close()
  await worker.stop()

  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const isBundle = (cf) => cf.url && !cf.url.startsWith('cloudflare-internal') && !cf.url.startsWith('node-internal')
  const label = (cf) => (cf.url === '' && /^\(.*\)$/.test(cf.functionName) ? cf.functionName : null)
  const byModule = new Map()
  const byFunction = new Map()
  const add = (map, k, n) => map.set(k, (map.get(k) ?? 0) + n)
  for (const nodeId of profile.samples) {
    const cf = nodes.get(nodeId).callFrame
    const special = label(cf) // (idle), (program), (garbage collector)
    let owner = nodeId
    while (owner !== undefined && !isBundle(nodes.get(owner).callFrame)) owner = parent.get(owner)
    const ownerFrame = owner === undefined ? null : nodes.get(owner).callFrame
    add(byModule, special ?? (ownerFrame ? moduleOf(ownerFrame.lineNumber) : '(runtime, no caller in the bundle)'), 1)
    const where = isBundle(cf) ? moduleOf(cf.lineNumber) : cf.url || 'native'
    add(byFunction, special ?? `${cf.functionName || '(anonymous)'}  [${where}]`, 1)
  }
  const total = profile.samples.length
  const busy = total - (byModule.get('(idle)') ?? 0)
  const pct = (n, of) => `${((n / of) * 100).toFixed(1).padStart(5)}%`
  console.log(
    `\n${which} / ${scenarioId}: ${Math.ceil(result.rps * 100) / 100} req/s, ${result.non2xx} non-2xx; ${total} samples, ${pct(busy, total)} busy`,
  )
  console.log('\nself time by module (native and runtime frames count for their caller), % of busy time:')
  for (const [m, n] of [...byModule].sort((a, b) => b[1] - a[1]).filter(([m]) => m !== '(idle)'))
    if (n / busy >= 0.005) console.log(`${pct(n, busy)}  ${m}`)
  console.log('\ntop functions by self time, % of busy time:')
  for (const [f, n] of [...byFunction]
    .filter(([f]) => f !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20))
    console.log(`${pct(n, busy)}  ${f}`)
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    killAll()
    process.exit(1)
  },
)
