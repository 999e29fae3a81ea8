import { createDb } from '../db/client'
import { configOf } from './config'
import type { Deps, RequestMeta } from './context'

const NO_META: RequestMeta = { ip: null, userAgent: null, requestId: null }

/** Builds the services' dependencies for one request or one queue batch. */
export const createDeps = (
  env: Env,
  meta: RequestMeta = NO_META,
  defer: (work: Promise<unknown>) => void = () => {},
): Deps => ({
  env,
  db: createDb(env.DB),
  config: configOf(env),
  meta,
  now: () => new Date(),
  defer,
})
