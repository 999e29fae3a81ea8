// The CPU cost of one login's password hash: edge-iam's PBKDF2-SHA256 at its own iteration count
// (read from src/auth/passwords.ts) through WebCrypto, against OWASP's 600,000; and the peer's
// scrypt (Better Auth's parameters, read from its package) through node:crypto, which is what
// Better Auth uses under workerd too.
import { scrypt, webcrypto } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PASSWORD } from './data.mjs'
import { ROOT } from './workers.mjs'

export const OWASP_PBKDF2_SHA256 = 600_000
/** The most the production Workers runtime accepts ("iteration counts above 100000 are not supported"). */
export const WORKERS_PBKDF2_MAX = 100_000

const read = (path) => readFileSync(join(ROOT, path), 'utf8')
const number = (text, pattern, what) => {
  const m = pattern.exec(text)
  if (!m) throw new Error(`Cannot find ${what}`)
  return Number(m[1].replaceAll('_', ''))
}

/** CPU milliseconds (user + system, this process) per call of `fn`, over `runs` calls one at a time. */
const cpuPerCall = async (fn, runs) => {
  await fn() // first use
  const before = process.cpuUsage()
  const start = performance.now()
  for (let i = 0; i < runs; i++) await fn()
  const cpu = process.cpuUsage(before)
  return { cpuMs: (cpu.user + cpu.system) / 1000 / runs, wallMs: (performance.now() - start) / runs }
}

const pbkdf2 = async (iterations, runs) => {
  const key = await webcrypto.subtle.importKey('raw', new TextEncoder().encode(PASSWORD), 'PBKDF2', false, [
    'deriveBits',
  ])
  const salt = webcrypto.getRandomValues(new Uint8Array(16))
  const derive = () => webcrypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, 256)
  return { iterations, ...(await cpuPerCall(derive, runs)) }
}

export const measureHashing = async () => {
  const appIterations = number(read('src/auth/passwords.ts'), /PBKDF2_ITERATIONS = ([\d_]+)/, 'PBKDF2_ITERATIONS')
  const peerSource = read('node_modules/@better-auth/utils/dist/password.node.mjs')
  const params = {
    N: number(peerSource, /N: (\d+)/, 'scrypt N'),
    r: number(peerSource, /r: (\d+)/, 'scrypt r'),
    p: number(peerSource, /p: (\d+)/, 'scrypt p'),
    dkLen: number(peerSource, /dkLen: (\d+)/, 'scrypt dkLen'),
  }
  const run = promisify(scrypt)
  const peer = await cpuPerCall(
    () => run(PASSWORD, 'salt-of-sixteen!', params.dkLen, { ...params, maxmem: 256 * params.N * params.r }),
    10,
  )
  return {
    app: await pbkdf2(appIterations, 20),
    owasp: await pbkdf2(OWASP_PBKDF2_SHA256, 5),
    peer: { ...params, ...peer },
    withinWorkersLimit: appIterations <= WORKERS_PBKDF2_MAX,
  }
}
