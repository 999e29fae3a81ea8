import { createApp } from './app'
import { createDeps } from './domain/context'
import { enqueue } from './domain/jobs'
import { consumeJobs } from './jobs/consumer'

const app = createApp()

export default {
  fetch: app.fetch,
  queue: consumeJobs,
  /** Daily maintenance: the cron only enqueues; the queue consumer does the work. */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(enqueue(createDeps(env), null, 'purgeExpired'))
  },
} satisfies ExportedHandler<Env>
