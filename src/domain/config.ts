import { z } from 'zod'
import { AppError } from './errors'

/** Deployment settings from `[vars]`, parsed once per isolate. */
export type Config = {
  appOrigin: string
  /** Where this service itself is reached: links to its own routes (email verification) use it. */
  apiOrigin: string
  allowedRedirectOrigins: string[]
  maxWorkspacesPerUser: number
  sessionTtlSeconds: number
  logoutUrl: string | null
  emailFrom: string
  emailApiUrl: string
  stiggApiUrl: string
}

const httpUrl = (example: string) =>
  z.string().refine(
    (v) => {
      try {
        return ['http:', 'https:'].includes(new URL(v).protocol)
      } catch {
        return false
      }
    },
    { message: `must be an absolute http(s) URL such as ${example}` },
  )

const origin = httpUrl('https://dash.example.com').transform((v) => new URL(v).origin)
const positiveInteger = z
  .string()
  .regex(/^\d{1,9}$/, { message: 'must be a whole number' })
  .transform(Number)
  .refine((n) => n > 0, { message: 'must be at least 1' })
const blankAsDefault = <T extends z.ZodType>(schema: T, fallback: string) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : fallback), schema)

const Vars = z.object({
  APP_ORIGIN: blankAsDefault(origin, 'http://localhost:8787'),
  API_ORIGIN: z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null), origin.nullable()),
  ALLOWED_REDIRECT_ORIGINS: blankAsDefault(
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(origin)),
    '',
  ),
  LOGOUT_URL: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null),
    httpUrl('https://sso.example.com/logout').nullable(),
  ),
  MAX_WORKSPACES_PER_USER: blankAsDefault(positiveInteger, '11'),
  SESSION_TTL_SECONDS: blankAsDefault(positiveInteger, '86400'),
  EMAIL_FROM: blankAsDefault(z.string().max(320), 'edge-iam <no-reply@localhost>'),
  EMAIL_API_URL: blankAsDefault(httpUrl('https://api.resend.com/emails'), 'https://api.resend.com/emails'),
  STIGG_API_URL: blankAsDefault(httpUrl('https://api.stigg.io/graphql'), 'https://api.stigg.io/graphql'),
})

const parsed = new WeakMap<object, Config | AppError>()

/**
 * The configuration of this deployment. A malformed variable fails every request with a message
 * naming it (503), instead of surfacing as a 500 in whichever route first reads it.
 */
export const configOf = (env: Env): Config => {
  let config = parsed.get(env)
  if (!config) {
    const result = Vars.safeParse(env)
    config = result.success
      ? {
          appOrigin: result.data.APP_ORIGIN,
          apiOrigin: result.data.API_ORIGIN ?? result.data.APP_ORIGIN,
          allowedRedirectOrigins: result.data.ALLOWED_REDIRECT_ORIGINS,
          maxWorkspacesPerUser: result.data.MAX_WORKSPACES_PER_USER,
          sessionTtlSeconds: result.data.SESSION_TTL_SECONDS,
          logoutUrl: result.data.LOGOUT_URL,
          emailFrom: result.data.EMAIL_FROM,
          emailApiUrl: result.data.EMAIL_API_URL,
          stiggApiUrl: result.data.STIGG_API_URL,
        }
      : configError(result.error)
    parsed.set(env, config)
  }
  if (config instanceof AppError) throw config
  return config
}

const configError = (error: z.ZodError) => {
  const problems = error.issues.map((i) => `${String(i.path[0])} ${i.message}`)
  console.error(JSON.stringify({ level: 'error', message: 'invalid configuration', problems }))
  return new AppError(
    'UNAVAILABLE',
    `This deployment is misconfigured: ${problems.join('; ')} (see wrangler.toml [vars])`,
  )
}

/**
 * Where a browser may be sent: an address on APP_ORIGIN or an allowed origin; a path resolves
 * against APP_ORIGIN. Comparing parsed origins, not prefixes, also refuses `//evil` and `/\evil`.
 */
export const allowedUrl = (config: Config, value: string): string | null => {
  try {
    const url = new URL(value, config.appOrigin)
    return url.origin === config.appOrigin || config.allowedRedirectOrigins.includes(url.origin) ? url.toString() : null
  } catch {
    return null
  }
}
