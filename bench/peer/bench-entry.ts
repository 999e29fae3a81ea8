/**
 * The peer as the bench runs it to seed and to count (never to measure throughput: that runs
 * `auth.ts` alone). Adds, under /__bench/ and only with the secret as bearer token:
 * - POST /__bench/migrate: Better Auth's own migrations (`getMigrations`);
 * - POST /__bench/users {emails, passwordOf}: users with email-and-password accounts, created with
 *   Better Auth's internal adapter and the password hash of the existing user `passwordOf` (one
 *   scrypt hash for all: 1,000 hashes would take minutes and measure nothing);
 * - POST /__bench/members {organizationId, members: [{userId, role}]}: `auth.api.addMember`.
 * A request with `x-bench-count: 1` runs on bindings that count D1 round trips and KV operations
 * (answered in `x-bench-d1` and `x-bench-kv`).
 */
import { getMigrations } from 'better-auth/db/migration'
import { countingEnv, describeOps } from '../../test/support/storage-ops'
import { type Auth, authFor, createAuth, type PeerEnv } from './auth'

type Json = Record<string, unknown>

/**
 * A second instance on counting bindings (Better Auth keeps the database it was given), built
 * once like the real one, so that its first-use introspection is not counted against a request.
 */
const countingFor = (env: PeerEnv) => {
  const counted = countingEnv(env as unknown as Env)
  return { auth: createAuth(counted.env as unknown as PeerEnv), ops: counted.ops }
}
let counting: ReturnType<typeof countingFor> | undefined

const seed = async (auth: Auth, path: string, body: Json): Promise<Json> => {
  if (path === '/__bench/migrate') {
    const { runMigrations, toBeCreated } = await getMigrations(auth.options)
    await runMigrations()
    return { created: toBeCreated.map((t) => t.table) }
  }
  const ctx = await auth.$context
  if (path === '/__bench/users') {
    const [account] = await ctx.adapter.findMany<{ password: string | null }>({
      model: 'account',
      where: [{ field: 'userId', value: String(body.passwordOf) }],
      limit: 1,
    })
    if (!account?.password) throw new Error('passwordOf names no user with a password')
    const ids: string[] = []
    for (const email of body.emails as string[]) {
      const user = await ctx.internalAdapter.createUser(
        { email, name: email.slice(0, email.indexOf('@')), emailVerified: true },
        { method: 'email-password' },
      )
      await ctx.internalAdapter.linkAccount({
        userId: user.id,
        providerId: 'credential',
        accountId: user.id,
        password: account.password,
      })
      ids.push(user.id)
    }
    return { ids }
  }
  if (path === '/__bench/members') {
    const members: Json[] = []
    for (const { userId, role } of body.members as { userId: string; role: string }[])
      members.push(
        (await auth.api.addMember({
          body: { userId, role: role as 'member', organizationId: String(body.organizationId) },
        })) as Json,
      )
    return { members }
  }
  throw new Error(`No bench route ${path}`)
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url)
    if (url.pathname.startsWith('/__bench/')) {
      if (request.headers.get('authorization') !== `Bearer ${env.BETTER_AUTH_SECRET}`)
        return Response.json({ error: 'bench routes need the secret' }, { status: 401 })
      try {
        return Response.json(await seed(authFor(env), url.pathname, ((await request.json()) ?? {}) as Json))
      } catch (err) {
        return Response.json({ error: String((err as Error)?.stack ?? err) }, { status: 500 })
      }
    }
    if (request.headers.get('x-bench-count') !== '1') return authFor(env).handler(request)
    counting ??= countingFor(env)
    // Requests to count come one at a time: the lists hold this request's operations only.
    const { auth, ops } = counting
    ops.d1.length = 0
    ops.kv.length = 0
    ops.batches.length = 0
    const response = await auth.handler(request)
    const body = await response.arrayBuffer()
    const headers = new Headers(response.headers)
    headers.set('x-bench-d1', String(ops.d1.length))
    headers.set('x-bench-kv', String(ops.kv.length))
    headers.set('x-bench-ops', JSON.stringify(describeOps(ops)))
    return new Response(body, { status: response.status, headers })
  },
} satisfies ExportedHandler<PeerEnv>
