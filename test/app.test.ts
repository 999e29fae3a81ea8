import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../src'
import { api, BASE, post } from './support'

type Operation = {
  operationId?: string
  description?: string
  security?: unknown[]
  parameters?: { name: string; in: string }[]
  requestBody?: { content: Record<string, { schema?: { example?: unknown }; example?: unknown }> }
  responses: Record<string, { content?: Record<string, { example?: unknown; schema?: { example?: unknown } }> }>
}
type OpenApi = {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, { example?: unknown }> }
}

describe('cross-cutting behaviour', () => {
  it('puts a request id and secure headers on every response', async () => {
    const res = await api('/health')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
    expect(res.headers.get('x-request-id')).toMatch(/.{8,}/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    expect(res.headers.get('strict-transport-security')).toContain('max-age')
    expect(res.headers.get('content-security-policy')).toBeNull()
  })

  it('answers unknown paths in the dialect of their surface', async () => {
    const rest = await api('/nope')
    expect(rest.status).toBe(404)
    expect(rest.headers.get('content-type')).toContain('application/problem+json')
    const jsonApi = await api('/organizations/xyz/nope')
    expect(jsonApi.headers.get('content-type')).toBe('application/vnd.api+json')
    expect((await jsonApi.json<{ errors: unknown[] }>()).errors).toHaveLength(1)
  })

  it('refuses oversized bodies with 413 before reading them', async () => {
    const res = await post('/auth/login', { email: 'a@b.co', password: 'x'.repeat(70 * 1024) })
    expect(res.status).toBe(413)
    expect((await res.json<{ message: string }>()).message).toMatch(/at most 64 KB/)
    const rpc = await post('/api/getTeamData', { pad: 'x'.repeat(70 * 1024) })
    expect(rpc.status).toBe(413)
    expect(await rpc.json()).toHaveProperty('actionErrors')
  })
})

describe('wrong methods', () => {
  it('answer 405 with Allow in the dialect of their surface', async () => {
    const rpc = await api('/api/getTeamData')
    expect(rpc.status).toBe(405)
    expect(rpc.headers.get('allow')).toBe('POST')
    expect(await rpc.json()).toEqual({
      error: 'GET is not allowed here; use POST',
      actionErrors: ['GET is not allowed here; use POST'],
    })
    const rest = await api('/me', { method: 'DELETE' })
    expect(rest.status).toBe(405)
    expect(rest.headers.get('allow')).toContain('GET')
    expect(rest.headers.get('content-type')).toContain('application/problem+json')
    // An action that does not exist stays a 404, whatever the method.
    expect((await api('/api/noSuchAction')).status).toBe(404)
  })
})

describe('configuration', () => {
  it('answers every request with 503 naming a malformed variable, instead of failing somewhere later', async () => {
    const broken = { ...env, APP_ORIGIN: 'dashboard.example.com', MAX_WORKSPACES_PER_USER: 'many' } as Env
    for (const path of ['/health', '/api/getTeamData', '/me']) {
      const res = await worker.fetch(
        new Request(`${BASE}${path}`, { method: 'POST' }),
        broken,
        createExecutionContext(),
      )
      expect(res.status, path).toBe(503)
      const text = await res.text()
      expect(text).toContain('APP_ORIGIN must be an absolute http(s) URL such as https://dash.example.com')
      expect(text).toContain('MAX_WORKSPACES_PER_USER must be a whole number')
    }
  })
})

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document of every route, with its security', async () => {
    const res = await api('/openapi.json')
    expect(res.status).toBe(200)
    const doc = await res.json<OpenApi>()
    expect(doc.openapi).toBe('3.1.0')
    const actions = [
      'getTeamData',
      'inviteUsers',
      'removeInvitation',
      'removeUser',
      'makeAdmin',
      'updateUserScopeRoleMapping',
      'createCustomRole',
      'updateCustomRole',
      'deleteCustomRole',
      'createNewAccount',
      'goToAccount',
      'updateUsernameAndOrganization',
      'resetUserPassword',
      'addApiToken',
      'deleteApiToken',
      'logout',
      'saveSubscription',
      'provisionSubscription',
      'applyAccessType',
      'resetCollectionAccessTypes',
      'refreshUsageDataForOrg',
    ]
    expect(actions).toHaveLength(21)
    // The inventory and job actions the dashboard's contract leaves to Akto's other modules.
    const inventory = [
      'uploadTraffic',
      'updatePrivateCidrIps',
      'updatePartnerIps',
      'getAllCollections',
      'fetchApiInfosForCollection',
      'fetchJobStatus',
    ]
    const paths = Object.keys(doc.paths)
    expect(paths.filter((p) => p.startsWith('/api/')).sort()).toEqual(
      [...actions, ...inventory].map((a) => `/api/${a}`).sort(),
    )
    expect(paths).toEqual(
      expect.arrayContaining([
        '/me/teams',
        '/org/teams/{team}/members/{user}',
        '/org/service-accounts/{sa}/keys/{key}',
        '/accounts',
        '/auth/bootstrap',
        '/auth/login',
        '/auth/login/mfa',
        '/auth/signup',
        '/auth/verify-email',
        '/health',
        '/me',
        '/me/emails',
        '/me/logins/{loginId}',
        '/me/mfa/totp',
        '/org/users/{user}/password/reset',
        '/dev/outbox',
      ]),
    )
    expect(doc.paths['/me']?.get?.security).toContainEqual({ Bearer: [] })
    expect(doc.paths['/auth/login']?.post?.security).toBeUndefined()
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['Bearer', 'AccessToken', 'ApiKey', 'SessionCookie'])
    const accounts = JSON.stringify(doc.paths['/accounts'])
    for (const p of ['page[number]', 'page[size]', 'sort', 'count', 'filter[email__match]', 'filter[created_at__gte]'])
      expect(accounts).toContain(`"${p}"`)
  })

  it('gives every operation an id, a description, examples, its errors and the context headers', async () => {
    const doc = await (await api('/openapi.json')).json<OpenApi>()
    const ids = new Set<string>()
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const where = `${method.toUpperCase()} ${path}`
        expect(op.operationId, where).toBeTruthy()
        ids.add(op.operationId ?? '')
        expect(op.description, where).toBeTruthy()
        const ok = Object.entries(op.responses).find(([status]) => status.startsWith('2'))
        const content = Object.values(ok?.[1].content ?? {})[0]
        if (content) expect(content.example ?? content.schema?.example, `${where} response example`).toBeDefined()
        if (op.requestBody) {
          const body = Object.values(op.requestBody.content)[0]
          expect(body?.schema?.example ?? body?.example, `${where} request example`).toBeDefined()
        }
        if (op.security) {
          expect(Object.keys(op.responses), where).toContain('401')
          expect(
            op.parameters?.map((p) => p.name),
            where,
          ).toEqual(expect.arrayContaining(['account', 'x-context-source']))
        }
      }
    }
    expect(ids.size).toBe(Object.values(doc.paths).flatMap((m) => Object.keys(m)).length)
  })

  it('is rendered as a readable reference at /docs', async () => {
    const res = await api('/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(await res.text()).toContain('/openapi.json')
  })

  it('runs only scripts of its own origin at /docs, under a CSP with a fresh nonce', async () => {
    const res = await api('/docs')
    const html = await res.text()
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map(([tag]) => tag)
    expect(scripts.map((tag) => /\ssrc="([^"]*)"/.exec(tag)?.[1]).filter(Boolean)).toEqual(['/docs/scalar.js'])
    expect(html).not.toMatch(/(https?:)?\/\/[a-z0-9-]+\.[a-z0-9.-]+/i) // no other origin, not even a link

    const policy = Object.fromEntries(
      res.headers
        .get('content-security-policy')!
        .split(';')
        .map((directive) => directive.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    )
    const nonce = /<script\b[^>]*\snonce="([^"]+)"/.exec(html)?.[1]
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/)
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`)
    expect(policy['default-src']).toEqual(["'none'"])
    expect(policy['script-src']).toEqual(["'self'", `'nonce-${nonce}'`])
    expect(policy['connect-src']).toEqual(["'self'"])
    expect(policy['base-uri']).toEqual(["'none'"])
    expect(res.headers.get('cache-control')).toBe('no-store')

    const again = await api('/docs')
    expect(again.headers.get('content-security-policy')).not.toContain(nonce)
  })

  it('serves the reference script itself from this origin', async () => {
    const res = await env.ASSETS.fetch(`${BASE}/docs/scalar.js`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^(text|application)\/javascript/)
    expect(await res.text()).toContain('createApiReference')
  })
})
