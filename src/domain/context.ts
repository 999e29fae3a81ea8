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
  /** Where this D1 session stands: a client that sends it back reads at least this fresh. */
  bookmark: () => string | null
  config: Config
  meta: RequestMeta
  now: () => Date
  /** Work that may finish after the response (ctx.waitUntil). */
  defer: (work: Promise<unknown>) => void
}

const NO_META: RequestMeta = { ip: null, userAgent: null, requestId: null }

/**
 * Builds the services' dependencies for one request or one queue batch; refuses a misconfigured
 * deployment. Every D1 query goes through one D1 session (the Sessions API): `readFrom` is a
 * bookmark the client has seen, `first-unconstrained` for any replica, or `first-primary` (the
 * default, for jobs) for the latest data. Within the session, reads follow its own writes.
 */
export const createDeps = (
  env: Env,
  meta: RequestMeta = NO_META,
  defer: (work: Promise<unknown>) => void = () => {},
  readFrom: string = 'first-primary',
): Deps => {
  const session = env.DB.withSession(readFrom)
  return {
    env,
    db: createDb(session),
    bookmark: () => session.getBookmark(),
    config: configOf(env),
    meta,
    now: () => new Date(),
    defer,
  }
}

/** Whether D1 answers: the health check. */
export const checkDatabase = async (deps: Deps) => {
  try {
    await deps.db.run(sql`SELECT 1`)
  } catch {
    throw unavailable('The database does not answer')
  }
}
