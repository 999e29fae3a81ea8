import { createApp } from './app'
import { createDeps } from './domain/context'
import { enqueue } from './domain/jobs'
import { consumeJobs } from './jobs/consumer'

const app = createApp()

export default {
  fetch: app.fetch,
  queue: consumeJobs,
  /** Daily maintenance: the cron only enqueues (a purge, every organization's usage); the queue does the work. */
  async scheduled(_controller, env, ctx) {
    const deps = createDeps(env)
    ctx.waitUntil(Promise.all([enqueue(deps, null, 'purgeExpired'), enqueue(deps, null, 'refreshUsage')]))
  },
} satisfies ExportedHandler<Env>
