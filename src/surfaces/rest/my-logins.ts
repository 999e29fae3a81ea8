import { z } from '@hono/zod-openapi'
import {
  type Login,
  listOwnLogins,
  listOwnTrustedDevices,
  revokeOwnLogin,
  revokeOwnTrustedDevice,
  type TrustedDevice,
} from '../../domain/logins'
import { principalOf } from '../../http/authenticate'
import { markerQuery } from '../../http/query'
import { createRouter } from '../../http/router'
import { defined, presentPage } from './present'
import { ListOf, ResourceId, restRoute, Timestamp } from './route'

const LoginSchema = z
  .object({
    id: ResourceId,
    deviceId: z.string(),
    authTime: Timestamp,
    lastUsedAt: Timestamp.openapi({ description: 'The sign-in, or the last change made with it, to the hour' }),
    expiresAt: Timestamp,
    remoteIp: z.string().optional(),
    userAgent: z.string().optional(),
    isCurrent: z.boolean(),
  })
  .openapi('Login')

const TrustedDeviceSchema = z
  .object({
    id: ResourceId,
    deviceId: z.string(),
    expiresAt: Timestamp,
    createdAt: Timestamp,
    remoteIp: z.string().optional(),
    userAgent: z.string().optional(),
  })
  .openapi('TrustedDevice')

const presentLogin = (l: Login) =>
  defined({
    id: l.id,
    deviceId: l.deviceId,
    authTime: l.authTime.toISOString(),
    lastUsedAt: l.lastUsedAt.toISOString(),
    expiresAt: l.expiresAt.toISOString(),
    remoteIp: l.remoteIp,
    userAgent: l.userAgent,
    isCurrent: l.isCurrent,
  })

const presentDevice = (d: TrustedDevice) =>
  defined({
    id: d.id,
    deviceId: d.deviceId,
    expiresAt: d.expiresAt.toISOString(),
    createdAt: d.createdAt.toISOString(),
    remoteIp: d.remoteIp,
    userAgent: d.userAgent,
  })

const LOGIN_EXAMPLE = {
  id: 'L1B2C3D4E5',
  deviceId: '3f2a…',
  authTime: '2026-12-03T09:00:00.000Z',
  lastUsedAt: '2026-12-03T09:00:00.000Z',
  expiresAt: '2026-12-04T09:00:00.000Z',
  remoteIp: '203.0.113.7',
  userAgent: 'Mozilla/5.0',
  isCurrent: true,
}

export const myLogins = createRouter()
  .openapi(
    restRoute({
      method: 'get',
      path: '/me/logins',
      operationId: 'listMyLogins',
      tag: 'Me',
      summary: 'List my logins',
      description:
        'Your active (not expired) sessions, with device, address and user agent; `isCurrent` marks this one.',
      query: markerQuery,
      status: 200,
      response: ListOf('LoginList', LoginSchema),
      example: { items: [LOGIN_EXAMPLE] },
      errors: [],
    }),
    async (c) => {
      const page = await listOwnLogins(c.var.deps, principalOf(c), c.req.valid('query'))
      return c.json(presentPage(page, presentLogin), 200)
    },
  )
  .openapi(
    restRoute({
      method: 'delete',
      path: '/me/logins/{loginId}',
      operationId: 'revokeMyLogin',
      tag: 'Me',
      summary: 'Revoke a login',
      description:
        "Ends one of your sessions: its token is refused from its next request, on every surface. Another user's login is a 404.",
      params: z.object({ loginId: ResourceId }),
      status: 204,
      errors: [404],
    }),
    async (c) => {
      await revokeOwnLogin(c.var.deps, principalOf(c), c.req.valid('param').loginId)
      return c.body(null, 204)
    },
  )
  .openapi(
    restRoute({
      method: 'get',
      path: '/me/trusted-devices',
      operationId: 'listMyTrustedDevices',
      tag: 'Me',
      summary: 'List my trusted devices',
      description: 'Devices that skip the second factor at sign-in, until they expire (30 days) or are revoked.',
      query: markerQuery,
      status: 200,
      response: ListOf('TrustedDeviceList', TrustedDeviceSchema),
      example: {
        items: [
          {
            id: 'D1B2C3D4E5',
            deviceId: '3f2a…',
            expiresAt: '2027-01-02T09:00:00.000Z',
            createdAt: '2026-12-03T09:00:00.000Z',
            remoteIp: '203.0.113.7',
            userAgent: 'Mozilla/5.0',
          },
        ],
      },
      errors: [],
    }),
    async (c) => {
      const page = await listOwnTrustedDevices(c.var.deps, principalOf(c), c.req.valid('query'))
      return c.json(presentPage(page, presentDevice), 200)
    },
  )
  .openapi(
    restRoute({
      method: 'delete',
      path: '/me/trusted-devices/{trustedDeviceId}',
      operationId: 'revokeMyTrustedDevice',
      tag: 'Me',
      summary: 'Revoke a trusted device',
      description: 'The next sign-in from that device asks for the second factor again.',
      params: z.object({ trustedDeviceId: ResourceId }),
      status: 204,
      errors: [404],
    }),
    async (c) => {
      await revokeOwnTrustedDevice(c.var.deps, principalOf(c), c.req.valid('param').trustedDeviceId)
      return c.body(null, 204)
    },
  )
