/**
 * The peer: Better Auth 1.7.25 on D1 (its own D1 adapter), email-and-password sign-in, the
 * organization plugin, and the API-key plugin (a separate package in 1.7.x, `@better-auth/api-key`
 * 1.7.5) with sessions for API keys, so that an `x-api-key` header authenticates any route. Its
 * defaults otherwise, except: its own rate limiter and the API keys' usage limit are off (the bench
 * would measure 429s), telemetry is off, and the instance is built once per isolate.
 */
import { apiKey } from '@better-auth/api-key'
import { betterAuth } from 'better-auth'
import { organization } from 'better-auth/plugins'

export type PeerEnv = {
  DB: D1Database
  SESSIONS: KVNamespace
  BETTER_AUTH_SECRET: string
  BETTER_AUTH_URL: string
}

export const createAuth = (env: PeerEnv) =>
  betterAuth({
    database: env.DB,
    secret: env.BETTER_AUTH_SECRET,
    baseURL: env.BETTER_AUTH_URL,
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    plugins: [organization(), apiKey({ enableSessionForAPIKeys: true, rateLimit: { enabled: false } })],
  })

export type Auth = ReturnType<typeof createAuth>

let auth: Auth | undefined

/** The isolate's instance, built on first use (an isolate's bindings do not change). */
export const authFor = (env: PeerEnv): Auth => {
  auth ??= createAuth(env)
  return auth
}

export default {
  fetch: (request, env) => authFor(env).handler(request),
} satisfies ExportedHandler<PeerEnv>
