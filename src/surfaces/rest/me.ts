import { createRoute, z } from '@hono/zod-openapi'
import type { Identity, ServiceAccountProfile, UserProfile } from '../../domain/principal'
import { describeCurrentIdentity } from '../../domain/users'
import { principalOf } from '../../http/authenticate'
import { ContextHeaders, jsonResponse, secured } from '../../http/openapi'
import { problems } from '../../http/problem'
import { createRouter } from '../../http/router'

const ResourceId = z
  .string()
  .regex(/^[A-Z0-9]{1,20}$/)
  .openapi({ example: 'A1B2C3D4E5' })
const Timestamp = z.string().openapi({ format: 'date-time', example: '2026-11-23T10:00:00.000Z' })

export const UserSchema = z
  .object({
    id: ResourceId,
    email: z.string().openapi({ format: 'email', example: 'alice@example.com' }),
    givenName: z.string().optional(),
    familyName: z.string().optional(),
    displayName: z.string().optional(),
    createdAt: Timestamp,
    createdBy: ResourceId.optional(),
    updatedAt: Timestamp,
    updatedBy: ResourceId.optional(),
  })
  .openapi('User')

const ServiceAccountSchema = z
  .object({
    id: ResourceId,
    username: z.string().openapi({ example: 'ci-deploy-bot' }),
    description: z.string().optional(),
    createdAt: Timestamp,
    createdBy: ResourceId.optional(),
    updatedAt: Timestamp,
    updatedBy: ResourceId.optional(),
  })
  .openapi('ServiceAccount')

const CurrentIdentity = z
  .object({
    root: z.object({}).optional(),
    user: UserSchema.optional(),
    serviceAccount: ServiceAccountSchema.optional(),
  })
  .openapi('CurrentIdentity', { description: 'Exactly one member is present' })

/** Leaves out absent values rather than sending nulls. */
const defined = <T extends Record<string, unknown>>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], null>
  }

export const presentUser = (u: UserProfile) =>
  defined({
    id: u.publicId,
    email: u.email,
    givenName: u.givenName,
    familyName: u.familyName,
    displayName: u.displayName,
    createdAt: u.createdAt.toISOString(),
    createdBy: u.createdBy,
    updatedAt: u.updatedAt.toISOString(),
    updatedBy: u.updatedBy,
  })

const presentServiceAccount = (s: ServiceAccountProfile) =>
  defined({
    id: s.publicId,
    username: s.username,
    description: s.description,
    createdAt: s.createdAt.toISOString(),
    createdBy: s.createdBy,
    updatedAt: s.updatedAt.toISOString(),
    updatedBy: s.updatedBy,
  })

const presentIdentity = (i: Identity): z.infer<typeof CurrentIdentity> => {
  if (i.kind === 'root') return { root: {} }
  if (i.kind === 'user') return { user: presentUser(i.user) }
  return { serviceAccount: presentServiceAccount(i.serviceAccount) }
}

export const me = createRouter().openapi(
  createRoute({
    method: 'get',
    path: '/me',
    operationId: 'getMe',
    tags: ['REST · Me'],
    summary: 'Get current user profile',
    description:
      'The identity behind the credential: exactly one of root, user or serviceAccount. Served from the principal cached for the credential: no database read.',
    ...secured(),
    request: { headers: ContextHeaders },
    responses: {
      200: jsonResponse(
        CurrentIdentity,
        'The information about the current identity is returned.',
        'application/json',
        {
          user: {
            id: 'A1B2C3D4E5',
            email: 'alice@example.com',
            displayName: 'Alice',
            createdAt: '2026-11-23T10:00:00.000Z',
            createdBy: 'A1B2C3D4E5',
            updatedAt: '2026-11-23T10:00:00.000Z',
            updatedBy: 'A1B2C3D4E5',
          },
        },
      ),
      ...problems(401, 403),
    },
  }),
  async (c) => c.json(presentIdentity(await describeCurrentIdentity(c.var.deps, principalOf(c))), 200),
)
