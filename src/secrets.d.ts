// Secrets are set with `wrangler secret put` (and `.dev.vars` locally), so `wrangler types`
// cannot see them; they are declared here for both Env interfaces.
interface Secrets {
  /** Signs session tokens and invitation codes; at least 32 characters. */
  AUTH_SECRET: string
  /** The break-glass root credential, sent as `Authorization: Bearer`. */
  ROOT_TOKEN?: string
  /** When set, `POST /auth/bootstrap` requires it as a bearer token. */
  BOOTSTRAP_TOKEN?: string
  /** Optional server-side pepper mixed into password hashes. */
  PASSWORD_PEPPER?: string
  /** Stigg server API key; billing answers 503 without it. */
  STIGG_API_KEY?: string
  /** Email provider (Resend-compatible HTTP API) key. */
  EMAIL_API_KEY?: string
  /** `true` (local development, tests): without a provider, emails are kept whole in email_outbox. */
  EMAIL_OUTBOX?: string
}
interface Env extends Secrets {}
declare namespace Cloudflare {
  interface Env extends Secrets {}
}
