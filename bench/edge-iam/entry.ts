/**
 * edge-iam as the bench runs it to seed and to count, never to measure throughput (that runs
 * `src/index.ts` itself, on the same persisted storage):
 * - every request runs on D1 and KV bindings that count their round trips (the proxies of
 *   test/support/storage-ops.ts: each statement run and each batch is one D1 round trip, each KV
 *   call one KV operation), reported in `x-bench-d1` and `x-bench-kv` (`x-bench-ops` lists them, each statement as its verb and tables);
 *   work the request leaves to `waitUntil` is awaited and counted too, and also reported apart in
 *   `x-bench-d1-deferred` and `x-bench-kv-deferred`;
 * - `POST /__bench/passwords {password}` (root token only) hashes one password with the app's own
 *   `hashPassword` and gives it to every user without a password. Seeding creates people the way
 *   an admin does (`POST /org/users`, which sets no password); 1,000 distinct hashes at 100,000
 *   PBKDF2 iterations would take over a minute and measure nothing.
 */
import { isNull } from 'drizzle-orm'
import { hashPassword } from '../../src/auth/passwords'
import { createDb } from '../../src/db/client'
import { users } from '../../src/db/schema'
import worker from '../../src/index'
import { countingEnv, describeOps } from '../../test/support/storage-ops'

const setPasswords = async (request: Request, env: Env) => {
  const root = env.ROOT_TOKEN
  if (!root || request.headers.get('authorization') !== `Bearer ${root}`)
    return Response.json({ error: 'bench routes need the root token' }, { status: 401 })
  const { password } = await request.json<{ password: string }>()
  const passwordHash = await hashPassword(password, env.PASSWORD_PEPPER)
  const updated = await createDb(env.DB)
    .update(users)
    .set({ passwordHash })
    .where(isNull(users.passwordHash))
    .returning({ id: users.id })
  return Response.json({ updated: updated.length })
}

/** The execution context with `waitUntil` also collected, so deferred work can be awaited and counted. */
const collecting = (ctx: ExecutionContext, deferred: Promise<unknown>[]) =>
  new Proxy(ctx, {
    get(target, key) {
      if (key === 'waitUntil')
        return (work: Promise<unknown>) => {
          deferred.push(work)
          target.waitUntil(work)
        }
      const value = Reflect.get(target, key)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === '/__bench/passwords') return setPasswords(request, env)
    const { env: counted, ops } = countingEnv(env)
    const deferred: Promise<unknown>[] = []
    const response = await worker.fetch(request, counted, collecting(ctx, deferred))
    const inRequest = { d1: ops.d1.length, kv: ops.kv.length }
    await Promise.allSettled(deferred)
    const out = new Response(response.body, response)
    out.headers.set('x-bench-d1', String(ops.d1.length))
    out.headers.set('x-bench-kv', String(ops.kv.length))
    out.headers.set('x-bench-d1-deferred', String(ops.d1.length - inRequest.d1))
    out.headers.set('x-bench-kv-deferred', String(ops.kv.length - inRequest.kv))
    out.headers.set('x-bench-ops', JSON.stringify(describeOps(ops)))
    return out
  },
  queue: worker.queue,
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env>
