#!/usr/bin/env node
// Rewrites the installed zod's locale index (node_modules/zod/v4/locales/index.*) to export English
// only, so that the Worker bundle carries one locale instead of 64.
//
// Why: zod 4's classic entry does `export * as locales from "../locales/index.js"`, a namespace
// re-export that esbuild (wrangler's bundler) cannot tree-shake (zod issue 6050), so every locale
// lands in the bundle: about 260 KiB of a 711 KiB build (173 -> 134 KiB gzip without them). The app
// uses zod's default English messages and its own `z.config({ customError })`; `z.locales.en()`
// still works, and the other `z.locales.*` become type errors (the .d.ts files are rewritten too).
// Patching the file, rather than a wrangler `alias` for "../locales/index.js", targets zod's file
// alone (that alias would catch the same relative specifier in any package) and means the tests run
// against the same zod as the deployed Worker.
//
// Runs from `postinstall` (so on every `npm ci`/`npm install`, Node 20 or 22). Idempotent. Stops
// the install if a zod upgrade changed the files' shape: then revisit this script.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const MARK = 'English only: rewritten by edge-iam scripts/zod-english-only.mjs'
const dir = join(new URL('..', import.meta.url).pathname, 'node_modules', 'zod', 'v4', 'locales')

// Each index file, the line that shows it is zod's full index, and its English-only replacement.
const files = {
  'index.js': ['export { default as en } from "./en.js";', 'export { default as en } from "./en.js";'],
  'index.d.ts': ['export { default as en } from "./en.js";', 'export { default as en } from "./en.js";'],
  'index.d.cts': ['export { default as en } from "./en.cjs";', 'export { default as en } from "./en.cjs";'],
  'index.cjs': [
    'require("./en.cjs")',
    [
      '"use strict";',
      'Object.defineProperty(exports, "__esModule", { value: true });',
      'var en = require("./en.cjs");',
      'exports.en = en && en.__esModule ? en.default : en;',
    ].join('\n'),
  ],
}

let changed = 0
for (const [name, [expected, replacement]] of Object.entries(files)) {
  const path = join(dir, name)
  const current = existsSync(path) ? readFileSync(path, 'utf8') : ''
  if (current.includes(MARK)) continue
  if (!current.includes(expected) || !current.includes('"./fr.')) {
    console.error(`zod-english-only: ${path} is not zod's locale index as expected; update this script`)
    process.exit(1)
  }
  writeFileSync(path, `// ${MARK}\n${replacement}\n`)
  changed++
}
if (changed) console.log(`zod-english-only: ${changed} locale index files of zod rewritten to English only`)
