#!/usr/bin/env node
// `npm run bench`: edge-iam against a floor Worker and a peer (Better Auth), side by side under
// local workerd. Writes BENCHMARKS.md and bench/ratios.svg. See BENCHMARKS.md for the method.
//
//   npm run bench                  the full run (about 10 minutes)
//   npm run bench -- --quick       1 round of 1 s per scenario; the report goes to .wrangler/bench/
//   npm run bench -- --only=me,write
//   npm run bench -- --report-only  the report of the last run again (after editing bench/analysis.md)
//   BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_WARMUP, BENCH_ALONE (s at 1 connection),
//   BENCH_PORT (the first of three ports)
import { execSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { bundleSize } from './lib/bundle.mjs'
import { measureHashing } from './lib/hashing.mjs'
import { combine, countOps, load } from './lib/measure.mjs'
import { markdown, svg, verdicts } from './lib/report.mjs'
import { scenarios } from './lib/scenarios.mjs'
import { seedEdge, seedFloor, seedPeer } from './lib/seed.mjs'
import { peerUrl, start as startTarget, targets } from './lib/targets.mjs'
import { BENCH_DIR, killAll, ROOT, wrangler, wranglerVersion } from './lib/workers.mjs'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
const setting = (name, full, fast) => Number(process.env[name] ?? (quick ? fast : full))
const settings = {
  rounds: setting('BENCH_ROUNDS', 3, 1),
  seconds: setting('BENCH_SECONDS', 5, 1),
  connections: setting('BENCH_CONNECTIONS', 8, 8),
  warmup: setting('BENCH_WARMUP', 2, 1),
  alone: setting('BENCH_ALONE', 2, 1),
}
const log = (...m) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...m)
const WORKERS = targets()
const start = (key, instrumented) => startTarget(WORKERS[key], { instrumented })

const machine = () => ({
  nproc: execSync('nproc').toString().trim(),
  cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
  node: process.version,
  wrangler: wranglerVersion(),
})
/** The load averages (1, 5, 15 min), before and after the run. */
const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')

/** Writes BENCHMARKS.md and the chart (to .wrangler/bench/ for partial runs) and prints the verdicts. */
const report = (results, partial) => {
  const out = partial ? BENCH_DIR : ROOT
  const met = verdicts(results)
  writeFileSync(join(out, 'BENCHMARKS.md'), markdown(results, met))
  writeFileSync(join(out, partial ? 'ratios.svg' : join('bench', 'ratios.svg')), svg(results))
  for (const v of met) log(`${v.met ? 'met   ' : 'MISSED'} ${v.what}: ${v.detail}`)
  log(`report: ${join(out, 'BENCHMARKS.md')}`)
}

const main = async () => {
  if (args.includes('--report-only')) {
    // Rewrites the report of the last run (.wrangler/bench/results.json), e.g. after editing bench/analysis.md.
    const results = JSON.parse(readFileSync(join(BENCH_DIR, 'results.json'), 'utf8'))
    return report(results, results.partial)
  }
  rmSync(BENCH_DIR, { recursive: true, force: true })
  mkdirSync(BENCH_DIR, { recursive: true })
  const info = machine()
  const loadBefore = loadAverage()
  log(`${info.nproc} cores, ${info.cpu}, Node ${info.node}, wrangler ${info.wrangler}, load ${loadBefore}`)

  log('bundle sizes (wrangler deploy --dry-run)')
  const bundles = { edge: bundleSize('edge-iam', WORKERS.edge.config), peer: bundleSize('peer', WORKERS.peer.config) }
  log('password hashing cost')
  const hashing = await measureHashing()

  log('storage: edge-iam migrations, floor table and session')
  wrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', WORKERS.edge.persistTo])
  const floor = seedFloor(WORKERS.floor)

  log('starting the floor and the instrumented edge-iam and peer')
  const running = {}
  ;[running.floor, running.edge, running.peer] = await Promise.all([
    start('floor', false),
    start('edge', true),
    start('peer', true),
  ])
  log('seeding edge-iam')
  const edge = await seedEdge(running.edge.url, { rootToken: WORKERS.edge.secrets.ROOT_TOKEN })
  log('seeding the peer')
  const peer = await seedPeer(running.peer.url, { secret: WORKERS.peer.secrets.BETTER_AUTH_SECRET })

  // For `npm run bench:profile`, which reuses this run's storage and credentials.
  writeFileSync(join(BENCH_DIR, 'seeded.json'), JSON.stringify({ edge, peer, floor, peerUrl }, null, 2))
  const all = scenarios({ edge, peer, floor, peerUrl }).filter((s) => !only || only.includes(s.id))
  log('counting D1 and KV operations per request')
  for (const s of all) {
    s.counts = {
      edge: await countOps(running.edge.url, s.edge, `${s.id}/edge`),
      peer: s.peer
        ? await countOps(running.peer.url, s.peer, `${s.id}/peer`, { extraHeaders: { 'x-bench-count': '1' } })
        : null,
    }
    log(
      `  ${s.id}: edge-iam ${s.counts.edge.d1.join('-')} D1, ${s.counts.edge.kv.join('-')} KV (HTTP ${s.counts.edge.statuses})`,
    )
  }

  log('restarting edge-iam and the peer uninstrumented, on the same storage')
  await Promise.all([running.edge.stop(), running.peer.stop()])
  ;[running.edge, running.peer] = await Promise.all([start('edge', false), start('peer', false)])

  const order = ['edge', 'floor', 'peer']
  const options = { seconds: settings.seconds, connections: settings.connections }
  for (const s of all) {
    const targets = order.filter((t) => s[t])
    log(`${s.id}: warm-up`)
    for (const t of targets) await load(running[t].url, s[t], `${s.id}/${t}`, { ...options, seconds: settings.warmup })
    const runs = Object.fromEntries(targets.map((t) => [t, []]))
    for (let round = 0; round < settings.rounds; round++) {
      // Rotate the order each round, so no target always runs first or last.
      const rotated = targets.map((_, i) => targets[(i + round) % targets.length])
      for (const t of rotated) runs[t].push(await load(running[t].url, s[t], `${s.id}/${t}`, options))
    }
    s.results = { edge: combine(runs.edge), floor: combine(runs.floor), peer: s.peer ? combine(runs.peer) : null }
    // The time one request takes on its own: one connection, after the loaded rounds.
    for (const t of targets) {
      const alone = combine([
        await load(running[t].url, s[t], `${s.id}/${t}`, { seconds: settings.alone, connections: 1 }),
      ])
      Object.assign(s.results[t], { aloneP50: alone.p50, aloneNon2xx: alone.non2xx })
    }
    const perRound = (other) => s.results.edge.roundsRps.map((rps, i) => rps / other.roundsRps[i])
    s.ratios = {
      floor: s.results.edge.rps / s.results.floor.rps,
      peer: s.results.peer ? s.results.edge.rps / s.results.peer.rps : null,
      // The same ratios round by round (each pair measured within seconds of each other): their spread is the noise.
      floorRounds: perRound(s.results.floor),
      peerRounds: s.results.peer ? perRound(s.results.peer) : null,
    }
    const flag = Object.values(s.results).some((r) => r && (r.non2xx || r.errors)) ? '  ⚠ errors' : ''
    log(
      `${s.id}: edge-iam ${s.results.edge.rps.toFixed(0)}/s, floor ${s.results.floor.rps.toFixed(0)}/s, peer ${s.results.peer?.rps.toFixed(0) ?? '-'}/s; ratios ${s.ratios.floor.toFixed(2)} / ${s.ratios.peer?.toFixed(2) ?? '-'}${flag}`,
    )
  }
  await Promise.all(Object.values(running).map((w) => w.stop()))

  const commit = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim()
  const dirty =
    execSync('git status --porcelain -- src bench package.json wrangler.toml', { cwd: ROOT }).toString().trim() !== ''
  const results = {
    date: new Date().toISOString(),
    commit,
    dirty,
    machine: { ...info, loadBefore, loadAfter: loadAverage() },
    settings,
    partial: Boolean(quick || only),
    hashing,
    bundles,
    scenarios: all.map(({ edge: _e, peer: _p, floor: _f, ...rest }) => rest),
  }
  writeFileSync(join(BENCH_DIR, 'results.json'), JSON.stringify(results, null, 2))
  report(results, results.partial)
}

main().catch((err) => {
  console.error(err)
  killAll()
  process.exit(1)
})
