import { z } from '@hono/zod-openapi'
import type { ServiceAccountProfile, UserProfile } from '../../domain/principal'
import type { ServiceAccountKey } from '../../domain/service-accounts'
import type { Team } from '../../domain/teams'
import { ResourceId, Timestamp } from './route'

/** The REST surface's resources, in LakeSail's shapes: camelCase, absent rather than null. */

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

export const ServiceAccountSchema = z
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

/** The names of a person a request may set (blank clears one). */
export const ProfileNames = {
  givenName: z.string().max(200).optional(),
  familyName: z.string().max(200).optional(),
  displayName: z.string().max(200).optional(),
}

/** Leaves out absent values rather than sending nulls. */
export const defined = <T extends Record<string, unknown>>(o: T) => {
  // A plain loop: lists present a hundred of these per response.
  const out: Record<string, unknown> = {}
  for (const key in o) if (o[key] !== null && o[key] !== undefined) out[key] = o[key]
  return out as { [K in keyof T]: Exclude<T[K], null> }
}

/** A user as the REST surface shows one, for the API reference's examples. */
export const USER_EXAMPLE = {
  id: 'A1B2C3D4E5',
  email: 'alice@example.com',
  givenName: 'Alice',
  familyName: 'Smith',
  displayName: 'Alice',
  createdAt: '2026-11-23T10:00:00.000Z',
  createdBy: 'F6G7H8I9J0',
  updatedAt: '2026-11-23T10:00:00.000Z',
  updatedBy: 'F6G7H8I9J0',
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

export const presentServiceAccount = (s: ServiceAccountProfile) =>
  defined({
    id: s.publicId,
    username: s.username,
    description: s.description,
    createdAt: s.createdAt.toISOString(),
    createdBy: s.createdBy,
    updatedAt: s.updatedAt.toISOString(),
    updatedBy: s.updatedBy,
  })

export const TeamSchema = z
  .object({
    id: ResourceId,
    organizationId: ResourceId,
    name: z.string().openapi({ example: 'Platform security' }),
    description: z.string().optional(),
    createdAt: Timestamp,
    createdBy: ResourceId.optional(),
    updatedAt: Timestamp,
    updatedBy: ResourceId.optional(),
    defaultRoleId: z
      .string()
      .openapi({ description: 'A built-in role (GUEST, DEVELOPER, …) or a custom role', example: 'GUEST' }),
  })
  .openapi('Team')

export const presentTeam = (t: Team) =>
  defined({
    id: t.publicId,
    organizationId: t.organizationPublicId,
    name: t.name,
    description: t.description,
    createdAt: t.createdAt.toISOString(),
    createdBy: t.createdBy,
    updatedAt: t.updatedAt.toISOString(),
    updatedBy: t.updatedBy,
    defaultRoleId: t.defaultRole,
  })

export const ServiceAccountKeySchema = z
  .object({
    id: ResourceId,
    expiresAt: Timestamp.optional(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi('ServiceAccountKey')

export const NewServiceAccountKeySchema = ServiceAccountKeySchema.extend({
  key: z.string().openapi({ description: 'The secret: shown this once, never again', example: 'k'.repeat(40) }),
}).openapi('NewServiceAccountKey')

export const presentServiceAccountKey = (k: ServiceAccountKey) =>
  defined({
    id: k.publicId,
    expiresAt: k.expiresAt?.toISOString(),
    createdAt: k.createdAt.toISOString(),
    updatedAt: (k.updatedAt ?? k.createdAt).toISOString(),
  })

/** One page of a list, presented; `marker` only when another page follows. */
export const presentPage = <T, U>(p: { items: T[]; marker?: string }, present: (item: T) => U) => ({
  items: p.items.map(present),
  ...(p.marker === undefined ? {} : { marker: p.marker }),
})
