import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { applyOfflineEnv } from './scripts/offline-env.mjs'

applyOfflineEnv()

export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations('migrations'),
          AUTH_SECRET: 'test-only-secret-that-is-long-enough-0123456789',
          ROOT_TOKEN: 'test-only-root-token-of-32-characters',
          EMAIL_OUTBOX: 'true',
        },
        queueConsumers: { 'iam-jobs': { maxBatchTimeout: 0.05 } },
        // exports.default.fetch() reaches the Worker past the assets router (wrangler.toml [assets]),
        // so tests read the static assets through a test-only binding.
        assets: { directory: './public', binding: 'ASSETS' },
      },
    }),
  ],
  test: { setupFiles: ['./test/setup.ts'] },
}))
