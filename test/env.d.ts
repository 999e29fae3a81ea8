declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[]
    /** Test-only: the static assets (see vitest.config.ts). */
    ASSETS: Fetcher
  }
}
