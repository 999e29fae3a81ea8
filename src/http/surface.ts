import type { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppError } from '../domain/errors'
import type { AppEnv } from './env'

/**
 * One API surface: its routes, the path prefixes it owns, and how it renders errors. The app
 * picks the renderer of the surface that owns a path for errors, unknown paths and wrong methods.
 */
export type Surface = {
  name: string
  router: OpenAPIHono<AppEnv>
  /** Paths equal to one of these, or below it. */
  prefixes: readonly string[]
  render: (c: Context<AppEnv>, err: AppError, headers?: Record<string, string>) => Response
  /** Paths whose request bodies may exceed the app's limit, with their own limit in bytes. */
  bodyLimits?: Readonly<Record<string, number>>
}

export const owns = (surface: Surface, path: string) =>
  surface.prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))
