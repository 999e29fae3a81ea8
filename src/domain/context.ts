import { sql } from 'drizzle-orm'
import { createDb, type Db } from '../db/client'
import { type Config, configOf } from './config'
import { unavailable } from './errors'

/** What the request looks like from outside, for audit events and sessions. */
export type RequestMeta = {
  ip: string | null
  userAgent: string | null
  requestId: string | null
}

/** Everything a service needs, built once per request (or per queue batch). */
export type Deps = {
  env: Env
  db: Db
  config: Config
  meta: RequestMeta
  now: () => Date
  /** Work that may finish after the response (ctx.waitUntil). */
  defer: (work: Promise<unknown>) => void
}

const NO_META: RequestMeta = { ip: null, userAgent: null, requestId: null }

/** Builds the services' dependencies for one request or one queue batch; refuses a misconfigured deployment. */
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

/** Whether D1 answers: the health check. */
export const checkDatabase = async (deps: Deps) => {
  try {
    await deps.db.run(sql`SELECT 1`)
  } catch {
    throw unavailable('The database does not answer')
  }
}
