// Bundle sizes as deployed: `wrangler deploy --dry-run --outdir`, the Worker's modules only (no
// source maps, no static assets), raw and gzipped with zlib (default level).
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { BENCH_DIR, wrangler } from './workers.mjs'

const files = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : [path]
  })

export const bundleSize = (name, config) => {
  const outdir = join(BENCH_DIR, 'bundle', name)
  rmSync(outdir, { recursive: true, force: true })
  wrangler(['deploy', '--dry-run', '--outdir', outdir, '--config', config])
  const modules = files(outdir).filter((f) => /\.(m?js|wasm)$/.test(f))
  let raw = 0
  let gzip = 0
  for (const file of modules) {
    const bytes = readFileSync(file)
    raw += bytes.length
    gzip += gzipSync(bytes).length
  }
  return { raw, gzip }
}
