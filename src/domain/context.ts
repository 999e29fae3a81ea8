import type { Db } from '../db/client'
import type { Config } from './config'

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
