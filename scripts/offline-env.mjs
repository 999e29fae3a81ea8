// Keeps wrangler from phoning home (telemetry, update checks, cf.json) and from writing into the
// home folder, so that `npm run dev` and `npm test` work on a machine without internet.
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname

export const offlineEnv = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  XDG_CONFIG_HOME: join(root, '.wrangler', 'config'),
  WRANGLER_LOG_PATH: join(root, '.wrangler', 'logs'),
}

/** Sets the defaults on this process (values already set by the user win). */
export const applyOfflineEnv = () => {
  for (const [key, value] of Object.entries(offlineEnv)) process.env[key] ??= value
}
