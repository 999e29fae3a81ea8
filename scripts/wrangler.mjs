#!/usr/bin/env node
// `wrangler <args>` with the offline settings; used by the npm scripts.
import { spawnSync } from 'node:child_process'
import { applyOfflineEnv } from './offline-env.mjs'

applyOfflineEnv()
const { status } = spawnSync('wrangler', process.argv.slice(2), { stdio: 'inherit' })
process.exit(status ?? 1)
