/** Deployment settings from `[vars]`, parsed once per use with safe defaults. */
export type Config = {
  appOrigin: string
  allowedRedirectOrigins: string[]
  maxWorkspacesPerUser: number
  sessionTtlSeconds: number
  logoutUrl: string | null
  emailFrom: string
  emailApiUrl: string
  stiggApiUrl: string
}

const int = (value: string | undefined, fallback: number) => {
  const n = Number(value)
  return Number.isInteger(n) && n > 0 ? n : fallback
}

export const configOf = (env: Env): Config => ({
  appOrigin: new URL(env.APP_ORIGIN || 'http://localhost:8787').origin,
  allowedRedirectOrigins: (env.ALLOWED_REDIRECT_ORIGINS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => new URL(s).origin),
  maxWorkspacesPerUser: int(env.MAX_WORKSPACES_PER_USER, 11),
  sessionTtlSeconds: int(env.SESSION_TTL_SECONDS, 86_400),
  logoutUrl: env.LOGOUT_URL || null,
  emailFrom: env.EMAIL_FROM || 'edge-iam <no-reply@localhost>',
  emailApiUrl: env.EMAIL_API_URL || 'https://api.resend.com/emails',
  stiggApiUrl: env.STIGG_API_URL || 'https://api.stigg.io/graphql',
})

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
