// Starting and stopping `wrangler dev`, and the other wrangler commands the bench needs, offline.
// Every `wrangler dev` runs in its own process group (wrangler, its proxy workerd and the Worker's
// workerd): stopping signals the whole group, and so does any exit of the bench, Ctrl-C included.
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { offlineEnv } from '../../scripts/offline-env.mjs'

export const ROOT = new URL('../..', import.meta.url).pathname
export const BENCH_DIR = join(ROOT, '.wrangler', 'bench')
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js')
// The user's own settings win, as in scripts/offline-env.mjs; CI=true: no confirmation prompts.
const ENV = { ...offlineEnv, ...process.env, CI: 'true' }

/** Runs a wrangler command to completion (with this Node); throws with its output on failure. */
export const wrangler = (args) => {
  const r = spawnSync(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: ENV, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`wrangler ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

export const wranglerVersion = () => wrangler(['--version']).trim()

const groups = new Set()
const killGroup = (pid, signal) => {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    return false // ESRCH: the group is gone
  }
}
const groupAlive = (pid) => killGroup(pid, 0)

/** Kills every group still running, at once (for exits and signals). */
export const killAll = () => {
  for (const pid of groups) killGroup(pid, 'SIGKILL')
  groups.clear()
}
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the Workers`)
    killAll()
    process.exit(130)
  })

/**
 * Starts `wrangler dev` for one Worker and waits until `readyPath` answers (any status below 500).
 * `script` overrides the config's `main`; `secrets` are written to an env file of the bench's own,
 * which wrangler then reads instead of a developer's `.dev.vars`. Logs go to .wrangler/bench/logs/.
 */
export const startWorker = async ({
  name,
  config,
  script,
  port,
  inspectorPort,
  persistTo,
  secrets,
  readyPath,
  extraArgs = [],
}) => {
  const logDir = join(BENCH_DIR, 'logs')
  mkdirSync(logDir, { recursive: true })
  const log = openSync(join(logDir, `${name}.log`), 'a')
  const envFile = join(BENCH_DIR, `${name}.env`)
  writeFileSync(
    envFile,
    Object.entries(secrets)
      .map(([key, value]) => `${key}=${value}\n`)
      .join(''),
  )
  const args = [
    'dev',
    ...(script ? [script] : []),
    '--config',
    config,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
    '--persist-to',
    persistTo,
    '--log-level',
    'warn',
    '--show-interactive-dev-session=false',
    '--env-file',
    envFile,
    ...extraArgs,
  ]
  const child = spawn(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    env: ENV,
    detached: true, // setsid: its own process group
    stdio: ['ignore', log, log],
  })
  closeSync(log)
  groups.add(child.pid)
  let exited = null
  child.on('exit', (code) => {
    exited = code ?? -1
  })
  const url = `http://127.0.0.1:${port}`
  const worker = { name, url, pid: child.pid, stop: () => stopGroup(child.pid) }
  const deadline = Date.now() + 90_000
  while (Date.now() < deadline) {
    if (exited !== null)
      throw new Error(`${name}: wrangler dev exited (${exited}); see .wrangler/bench/logs/${name}.log`)
    try {
      const res = await fetch(`${url}${readyPath}`, { signal: AbortSignal.timeout(2000) })
      await res.arrayBuffer()
      if (res.status < 500) return worker
    } catch {
      // not listening yet
    }
    await sleep(250)
  }
  await worker.stop()
  throw new Error(`${name}: not ready after 90 s; see .wrangler/bench/logs/${name}.log`)
}

/** SIGTERM to the group, SIGKILL to whatever is left of it after 5 s. */
const stopGroup = async (pid) => {
  killGroup(pid, 'SIGTERM')
  const deadline = Date.now() + 5000
  while (groupAlive(pid) && Date.now() < deadline) await sleep(100)
  killGroup(pid, 'SIGKILL')
  while (groupAlive(pid)) await sleep(50)
  groups.delete(pid)
}
