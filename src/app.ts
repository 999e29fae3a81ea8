import { OpenAPIHono } from '@hono/zod-openapi'
import { Scalar } from '@scalar/hono-api-reference'
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { requestId } from 'hono/request-id'
import { NONCE, secureHeaders } from 'hono/secure-headers'
import { createDeps } from './domain/context'
import { AppError, type AppError as AppErrorType, notFound } from './domain/errors'
import type { AppEnv } from './http/env'
import { toAppError } from './http/errors'
import { SECURITY_SCHEMES } from './http/openapi'
import { auth } from './surfaces/auth'
import { jsonApi } from './surfaces/jsonapi'
import { renderJsonApiError } from './surfaces/jsonapi/render'
import { rest } from './surfaces/rest'
import { renderProblem } from './surfaces/rest/render'
import { rpc } from './surfaces/rpc'
import { renderRpcError } from './surfaces/rpc/render'
import { system } from './surfaces/system'

const MAX_BODY_BYTES = 64 * 1024
const JSON_API_PATH = /^\/(accounts|organizations|account_sessions|account)(\/|$)/

/**
 * The API reference page runs only this origin's copy of Scalar (/docs/scalar.js, a static asset:
 * see wrangler.toml) and Scalar's inline start-up script, which carries this response's nonce.
 * Styles need 'unsafe-inline': Scalar's script injects <style> elements without the nonce (toasts)
 * and sets style attributes. Scalar's default fonts come from its own host: turned off below.
 */
const DOCS_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'", NONCE],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'self'"],
}

/** Each surface answers errors in its own dialect, chosen by path. */
const renderError = (c: Context<AppEnv>, err: AppErrorType) => {
  const path = c.req.path
  if (path.startsWith('/api/')) return renderRpcError(c, err)
  if (JSON_API_PATH.test(path)) return renderJsonApiError(c, err)
  return renderProblem(c, err)
}

export const createApp = () => {
  const app = new OpenAPIHono<AppEnv>()
  app.use(requestId(), secureHeaders())
  app.use(async (c, next) => {
    await next()
    // /docs too: its page carries a fresh CSP nonce. Its script is an asset with its own caching.
    c.header('Cache-Control', 'no-store')
  })
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new AppError('PAYLOAD_TOO_LARGE', `Request body must be at most ${MAX_BODY_BYTES / 1024} KB`)
      },
    }),
  )
  app.use(async (c, next) => {
    const meta = {
      ip: c.req.header('cf-connecting-ip') ?? null,
      userAgent: c.req.header('user-agent') ?? null,
      requestId: c.var.requestId,
    }
    c.set(
      'deps',
      createDeps(c.env, meta, (work) => c.executionCtx.waitUntil(work)),
    )
    await next()
  })

  app.route('/', rpc)
  app.route('/', rest)
  app.route('/', jsonApi)
  app.route('/', auth)
  app.route('/', system)

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
  app.get(
    '/docs',
    secureHeaders({ contentSecurityPolicy: DOCS_CSP }),
    Scalar((c) => ({
      url: '/openapi.json',
      pageTitle: 'edge-iam API reference',
      cdn: '/docs/scalar.js',
      nonce: c.get('secureHeadersNonce'),
      withDefaultFonts: false,
      // Scalar's hosted AI chat and telemetry would send the document to its servers (and the CSP
      // blocks them anyway).
      agent: { disabled: true },
      telemetry: false,
    })),
  )

  app.notFound((c) => {
    const action = c.req.path.startsWith('/api/') ? `Unknown action: ${c.req.path.slice(5)}` : null
    return renderError(c, notFound(action ?? `No route for ${c.req.method} ${c.req.path}`))
  })
  app.onError((err, c) => renderError(c, toAppError(err, c.var.requestId)))
  return app
}
