import { and, eq, inArray, ne, sql } from 'drizzle-orm'
import { apiCollections, customRoles, invitations, memberships } from '../db/schema'
import { keepsAnAdminWithout } from './admins'
import { authorizeIn, refuse } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { conflict, forbidden, invalid, isUniqueViolation, notFound } from './errors'
import { type Principal, roleIn } from './principal'
import { accessibleScopes, isBuiltInRole, RESERVED_ROLE_NAMES } from './roles'

export type CustomRoleInput = {
  roleName: string
  baseRole: string
  apiCollectionIds?: number[]
  defaultInviteRole?: boolean
  allowedFeaturesForUser?: string[]
}

/** A custom role's name, upper-cased: 1-50 of `A-Za-z0-9-_`, never a built-in name in any case. */
const validRoleName = (name: string) => {
  if (name.trim() === '') throw invalid('Role names cannot be empty.')
  if (name.length > 50) throw invalid('Role names cannot be more than 50 characters.')
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw invalid("Role names can only be alphanumeric and contain '-'and '_'")
  const upper = name.toUpperCase()
  if (RESERVED_ROLE_NAMES.includes(upper)) throw invalid(`${name} is a reserved keyword.`)
  return upper
}

/** The base role as given (any built-in role, THREAT_* included), upper-cased. */
const validBaseRole = (baseRole: string) => {
  const upper = baseRole.trim().toUpperCase()
  if (!isBuiltInRole(upper)) throw invalid('Base role does not exist')
  return upper
}

const validCollections = async (deps: Deps, workspaceId: number, ids: number[] = []) => {
  const unique = [...new Set(ids)]
  if (unique.length === 0) return unique
  const found = await deps.db
    .select({ id: apiCollections.id })
    .from(apiCollections)
    .where(and(eq(apiCollections.workspaceId, workspaceId), inArray(apiCollections.id, unique)))
  const known = new Set(found.map((r) => r.id))
  const unknown = unique.find((id) => !known.has(id))
  if (unknown !== undefined) throw invalid(`API collection ${unknown} does not exist in this account`)
  return unique
}

const findRole = async (deps: Deps, workspaceId: number, name: string) => {
  const [role] = await deps.db
    .select()
    .from(customRoles)
    .where(and(eq(customRoles.workspaceId, workspaceId), eq(customRoles.name, name)))
  return role
}

const DEFAULT_EXISTS = 'Default invite role already exists.'
const NAME_EXISTS = 'Existing role with same name exists.'

/** The name of the workspace's default invite role (other than `exceptId`), if it has one. */
export const defaultInviteRole = async (deps: Deps, workspaceId: number, exceptId = -1) => {
  const [row] = await deps.db
    .select({ name: customRoles.name })
    .from(customRoles)
    .where(
      and(
        eq(customRoles.workspaceId, workspaceId),
        eq(customRoles.defaultInviteRole, true),
        ne(customRoles.id, exceptId),
      ),
    )
  return row?.name ?? null
}

/**
 * A custom role acts in every scope that holds it, so changing one needs an ADMIN of every scope
 * the workspace grants, not only of the request's.
 */
const workspaceAdmin = async (
  deps: Deps,
  p: Principal,
  action: 'createCustomRole' | 'updateCustomRole' | 'deleteCustomRole',
) => {
  const ws = await authorizeIn(deps, p, action)
  if (accessibleScopes(ws.entitlements).some((scope) => roleIn(ws, scope) !== 'ADMIN'))
    await refuse(
      deps,
      p,
      action,
      forbidden('Custom roles act in every product scope: only an ADMIN of every scope may change them'),
    )
  return ws
}

/** The editable fields of a role, checked; `exceptId` is the role being updated. */
const validFields = async (deps: Deps, workspaceId: number, input: CustomRoleInput, exceptId?: number) => {
  const baseRole = validBaseRole(input.baseRole)
  const isDefault = input.defaultInviteRole ?? false
  if (isDefault && (await defaultInviteRole(deps, workspaceId, exceptId))) throw invalid(DEFAULT_EXISTS)
  return {
    baseRole,
    defaultInviteRole: isDefault,
    apiCollectionIds: await validCollections(deps, workspaceId, input.apiCollectionIds),
  }
}

/** Runs a role write; losing a race on the name or the one default flag answers its own message. */
const writeRole = async (write: () => Promise<unknown>) => {
  try {
    await write()
  } catch (err) {
    if (!isUniqueViolation(err)) throw err
    throw conflict(String((err as Error).cause ?? err).includes('custom_roles.name') ? NAME_EXISTS : DEFAULT_EXISTS)
  }
}

export const createCustomRole = async (deps: Deps, p: Principal, input: CustomRoleInput) => {
  const ws = await workspaceAdmin(deps, p, 'createCustomRole')
  const name = validRoleName(input.roleName)
  if (await findRole(deps, ws.id, name)) throw invalid(NAME_EXISTS)
  const fields = await validFields(deps, ws.id, input)
  await writeRole(() =>
    commit(deps, p, {
      event: {
        action: 'createCustomRole',
        targetType: 'customRole',
        targetId: name,
        detail: { baseRole: fields.baseRole },
      },
      writes: [
        deps.db.insert(customRoles).values({
          workspaceId: ws.id,
          name,
          ...fields,
          allowedFeatures: input.allowedFeaturesForUser ?? [],
          createdBy: p.publicId,
          updatedBy: p.publicId,
        }),
      ],
      // Every principal of the workspace carries its custom roles.
      affects: { workspaceIds: [ws.id] },
    }),
  )
}

export const updateCustomRole = async (deps: Deps, p: Principal, input: CustomRoleInput) => {
  const ws = await workspaceAdmin(deps, p, 'updateCustomRole')
  const role = await findRole(deps, ws.id, validRoleName(input.roleName))
  if (!role) throw notFound('Role does not exist.')
  const fields = await validFields(deps, ws.id, input, role.id)
  await writeRole(() =>
    commit(deps, p, {
      event: {
        action: 'updateCustomRole',
        targetType: 'customRole',
        targetId: role.name,
        detail: { from: role.baseRole, to: fields.baseRole },
      },
      // A member who is ADMIN through this role must not leave a scope without an ADMIN.
      checks:
        role.baseRole === 'ADMIN' && fields.baseRole !== 'ADMIN' ? keepsAnAdminWithout(deps, ws.id, role.name) : [],
      writes: [
        deps.db
          .update(customRoles)
          .set({
            ...fields,
            allowedFeatures: input.allowedFeaturesForUser ?? role.allowedFeatures,
            updatedBy: p.publicId,
          })
          .where(eq(customRoles.id, role.id)),
      ],
      affects: { workspaceIds: [ws.id] },
    }),
  )
}

/** Deletes a custom role unless a member or a pending invitation holds it, by role or scope map. */
export const deleteCustomRole = async (deps: Deps, p: Principal, rawName: string) => {
  const ws = await workspaceAdmin(deps, p, 'deleteCustomRole')
  const name = rawName.trim().toUpperCase()
  const role = await findRole(deps, ws.id, name)
  if (!role) throw notFound('Role does not exist.')

  // A membership's plain role only counts when it has no scope map (the map then decides).
  const heldByMember = sql`EXISTS (SELECT 1 FROM ${memberships} WHERE ${memberships.workspaceId} = ${ws.id} AND ((${memberships.role} = ${name} AND coalesce(${memberships.scopeRoles}, '{}') = '{}') OR EXISTS (SELECT 1 FROM json_each(${memberships.scopeRoles}) WHERE json_each.value = ${name})))`
  const heldByInvitation = sql`EXISTS (SELECT 1 FROM ${invitations} WHERE ${invitations.workspaceId} = ${ws.id} AND ${invitations.status} = 'pending' AND EXISTS (SELECT 1 FROM json_each(${invitations.scopeRoles}) WHERE json_each.value = ${name}))`
  const [held] = await deps.db
    .select({ byMember: heldByMember.mapWith(Boolean), byInvitation: heldByInvitation.mapWith(Boolean) })
    .from(customRoles)
    .where(eq(customRoles.id, role.id))
  if (held?.byMember) throw invalid('Role is associated with users. Cannot delete.')
  if (held?.byInvitation) throw invalid('Role is associated with pending invites. Cannot delete.')
  await commit(deps, p, {
    event: { action: 'deleteCustomRole', targetType: 'customRole', targetId: name },
    writes: [deps.db.delete(customRoles).where(eq(customRoles.id, role.id))],
    affects: { workspaceIds: [ws.id] },
  })
}
