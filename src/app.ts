import { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { methodNotAllowed } from 'hono/method-not-allowed'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import { createDeps } from './domain/context'
import { AppError } from './domain/errors'
import { readFromOf, returnBookmark } from './http/bookmark'
import type { AppEnv } from './http/env'
import { toAppError } from './http/errors'
import { SECURITY_SCHEMES } from './http/openapi'
import { renderProblem } from './http/problem'
import { owns, type Surface } from './http/surface'
import { auth } from './surfaces/auth'
import { docs } from './surfaces/docs'
import { jsonApi } from './surfaces/jsonapi'
import { rest } from './surfaces/rest'
import { rpc } from './surfaces/rpc'
import { system } from './surfaces/system'

const MAX_BODY_BYTES = 64 * 1024
const SURFACES: readonly Surface[] = [rpc, rest, jsonApi, auth, system]

/** Each surface answers errors in its own dialect; paths of none answer problem details. */
const renderError = (c: Context<AppEnv>, err: AppError, headers?: Record<string, string>) =>
  (SURFACES.find((s) => owns(s, c.req.path))?.render ?? renderProblem)(c, err, headers)

export const createApp = () => {
  const app = new OpenAPIHono<AppEnv>()
  app.use(requestId(), secureHeaders())
  app.use(async (c, next) => {
    await next()
    // /docs too: its page carries a fresh CSP nonce. Its script is an asset with its own caching.
    c.header('Cache-Control', 'no-store')
  })
  const limitTo = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new AppError('PAYLOAD_TOO_LARGE', `Request body must be at most ${maxSize / 1024} KB`)
      },
    })
  const anyBody = limitTo(MAX_BODY_BYTES)
  const ownLimits = new Map(
    SURFACES.flatMap((s) => Object.entries(s.bodyLimits ?? {})).map(([path, bytes]) => [path, limitTo(bytes)]),
  )
  app.use((c, next) => (ownLimits.get(c.req.path) ?? anyBody)(c, next))
  app.use(async (c, next) => {
    const meta = {
      ip: c.req.header('cf-connecting-ip') ?? null,
      userAgent: c.req.header('user-agent') ?? null,
      requestId: c.var.requestId,
    }
    const readFrom = readFromOf(c)
    const deps = createDeps(c.env, meta, (work) => c.executionCtx.waitUntil(work), readFrom)
    c.set('deps', deps)
    await next()
    returnBookmark(c, deps.bookmark(), readFrom)
  })
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        renderError(
          c as Context<AppEnv>,
          new AppError('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed here; use ${methods.join(' or ')}`),
          { Allow: methods.join(', ') },
        ),
    }),
  )

  for (const surface of SURFACES) app.route('/', surface.router)

  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES))
    app.openAPIRegistry.registerComponent('securitySchemes', name, scheme)
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'edge-iam',
      version: '0.1.0',
      description:
        'User, team, role and access management. Three surfaces over one domain: the dashboard RPC surface (`POST /api/<action>`), REST (`/me`, `/org/users`) and JSON:API (`/accounts`, …).',
    },
  })
  app.route('/', docs)

  app.notFound((c) => {
    const action = owns(rpc, c.req.path) ? `Unknown action: ${c.req.path.slice('/api/'.length)}` : null
    return renderError(c, new AppError('NOT_FOUND', action ?? `No route for ${c.req.method} ${c.req.path}`))
  })
  app.onError((err, c) => renderError(c, toAppError(err, c.var.requestId)))
  return app
}
