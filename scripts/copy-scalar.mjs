#!/usr/bin/env node
// Copies the API reference's browser script from the pinned @scalar/api-reference package to
// public/docs/scalar.js, which wrangler serves as a static asset ([assets] in wrangler.toml).
//
// Why: /docs must not load a script from a CDN (blank page offline or where the CDN is blocked, and
// third-party code on the origin of the cookie-authenticated API). The standalone build is 4.7 MB
// (1.4 MB gzip), too big to import into the Worker bundle, so it is an asset instead; copying it
// from node_modules keeps it pinned by package-lock.json and out of git.
//
// Runs from `postinstall` (a clean clone after `npm ci`/`npm install`) and before dev, build and
// test (in case public/ was cleaned since). Idempotent: it only rewrites the copy when it differs.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const source = join(root, 'node_modules', '@scalar', 'api-reference', 'dist', 'browser', 'standalone.js')
const target = join(root, 'public', 'docs', 'scalar.js')

if (!existsSync(source)) {
  console.error(`copy-scalar: ${source} is missing; run npm install (is @scalar/api-reference installed?)`)
  process.exit(1)
}
if (existsSync(target) && readFileSync(source).equals(readFileSync(target))) process.exit(0)
mkdirSync(dirname(target), { recursive: true })
copyFileSync(source, target)
console.log('copy-scalar: public/docs/scalar.js copied from @scalar/api-reference')
