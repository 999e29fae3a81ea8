import { Scalar } from '@scalar/hono-api-reference'
import { Hono } from 'hono'
import { NONCE, secureHeaders } from 'hono/secure-headers'
import type { AppEnv } from '../http/env'

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

/** `/docs`: the API reference, rendered from /openapi.json. */
export const docs = new Hono<AppEnv>().get(
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
