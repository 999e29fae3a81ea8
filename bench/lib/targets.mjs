// The three Workers: config, instrumented entry (for seeding and counting), port, storage, secrets.
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BENCH_DIR, startWorker } from './workers.mjs'

export const BASE_PORT = Number(process.env.BENCH_PORT ?? 8801)
export const peerUrl = `http://127.0.0.1:${BASE_PORT + 2}`

const secret = () => randomBytes(32).toString('base64url')
const secretsFile = (name) => join(BENCH_DIR, `${name}.env`)

/** The secrets a previous run gave a Worker (its env file), or new ones. */
const secretsOf = (name, fresh, reuse) => {
  if (!reuse || !existsSync(secretsFile(name))) return fresh()
  return Object.fromEntries(
    readFileSync(secretsFile(name), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  )
}

/** `reuse`: the secrets of the last run (its sessions and keys stay valid), for bench:profile. */
export const targets = ({ reuse = false } = {}) => {
  const workers = {
    edge: {
      name: 'edge-iam',
      config: 'wrangler.toml',
      instrumented: 'bench/edge-iam/entry.ts',
      readyPath: '/health',
      secrets: secretsOf(
        'edge-iam',
        () => ({ AUTH_SECRET: secret(), ROOT_TOKEN: secret(), EMAIL_OUTBOX: 'true' }),
        reuse,
      ),
    },
    floor: { name: 'floor', config: 'bench/floor/wrangler.toml', readyPath: '/', secrets: {} },
    peer: {
      name: 'peer',
      config: 'bench/peer/wrangler.toml',
      instrumented: 'bench/peer/bench-entry.ts',
      readyPath: '/api/auth/ok',
      // Better Auth answers 500 until its tables exist: the instrumented entry's own path answers 401.
      instrumentedReadyPath: '/__bench/ready',
      secrets: secretsOf('peer', () => ({ BETTER_AUTH_SECRET: secret(), BETTER_AUTH_URL: peerUrl }), reuse),
    },
  }
  Object.values(workers).forEach((w, i) => {
    w.port = BASE_PORT + i
    w.inspectorPort = BASE_PORT + 500 + i
    w.persistTo = join(BENCH_DIR, 'state', w.name)
  })
  return workers
}

/** Starts a target's Worker: its own build, or its instrumented entry. */
export const start = (w, { instrumented = false, extraArgs = [] } = {}) =>
  startWorker({
    ...w,
    // The plain build's env file keeps the Worker's own name: bench:profile reads the secrets back.
    name: instrumented ? `${w.name}-instrumented` : w.name,
    script: instrumented ? w.instrumented : undefined,
    readyPath: (instrumented && w.instrumentedReadyPath) || w.readyPath,
    extraArgs,
  })
