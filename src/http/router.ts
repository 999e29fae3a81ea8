import { OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from './env'
import { validationError } from './validation'

/**
 * A router whose validation failures are thrown as domain errors, so that the root error
 * handler renders them in the dialect of the surface the path belongs to.
 */
export const createRouter = () =>
  new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target)
    },
  })
