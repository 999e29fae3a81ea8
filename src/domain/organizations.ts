import { and, count, eq, sql } from 'drizzle-orm'
import { newPublicId } from '../auth/crypto'
import { memberships, organizations, workspaces } from '../db/schema'
import { authorize, authorizeIn } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { conflict, notFound } from './errors'
import { type ListQuery, type ListSpec, type Page, type Target, toOrderBy, toWhere } from './listing'
import type { Principal } from './principal'
import { validOrganizationName } from './rules'
import { FIRST_WORKSPACE_ID } from './sign-in'

/**
 * Replaces an organization's plan features (an empty map grants every feature). Every principal
 * in the organization carries them, so all of its workspaces' copies are rewritten.
 */
export const setEntitlements = async (
  deps: Deps,
  caller: Principal | null,
  organizationId: number,
  entitlements: Record<string, boolean>,
) => {
  const inOrganization = await deps.db
    .select({ id: workspaces.id })
    .from(workspaces)
    .where(eq(workspaces.organizationId, organizationId))
  await commit(deps, caller, {
    event: {
      action: 'setEntitlements',
      targetType: 'organization',
      targetId: organizationId,
      organizationId,
      detail: { entitlements },
    },
    writes: [deps.db.update(organizations).set({ entitlements }).where(eq(organizations.id, organizationId))],
    affects: { workspaceIds: inOrganization.map((w) => w.id) },
  })
}

/** The ids of the people of an organization (a membership in one of its workspaces), as a subquery. */
export const peopleOf = (deps: Deps, organizationId: number) =>
  deps.db
    .select({ id: memberships.userId })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(eq(workspaces.organizationId, organizationId))

export type Organization = typeof organizations.$inferSelect

export const ORGANIZATION_LIST: ListSpec = {
  filters: {
    id: { type: 'string', ops: ['eq', 'in'] },
    name: { type: 'string', ops: ['eq', 'match'] },
    created_at: { type: 'datetime', ops: ['eq', 'gte', 'lte'] },
    updated_at: { type: 'datetime', ops: ['eq', 'gte', 'lte'] },
  },
  sort: ['id', 'name', 'created_at', 'updated_at'],
}

const TARGETS: Record<string, Target> = {
  id: organizations.publicId,
  name: organizations.name,
  created_at: organizations.createdAt,
  updated_at: organizations.updatedAt,
}

/** Root sees every organization; anyone else only the one of their current workspace. */
const visible = (p: Principal) =>
  p.kind === 'root' ? undefined : eq(organizations.id, p.workspace?.organizationId ?? -1)

export const listOrganizations = async (deps: Deps, p: Principal, q: ListQuery): Promise<Page<Organization>> => {
  await authorize(deps, p, 'listOrganizations')
  const where = and(visible(p), toWhere(TARGETS, q.filters))
  const itemsQuery = deps.db
    .select()
    .from(organizations)
    .where(where)
    .orderBy(...toOrderBy(TARGETS, q.sort, organizations.id))
    .limit(q.page.size + 1)
    .offset((q.page.number - 1) * q.page.size)
  const page = (rows: Organization[]) => ({ items: rows.slice(0, q.page.size), more: rows.length > q.page.size })
  if (!q.count) return page(await itemsQuery)
  const [rows, [total]] = await deps.db.batch([
    itemsQuery,
    deps.db.select({ n: count() }).from(organizations).where(where),
  ])
  return { ...page(rows), count: total?.n ?? 0 }
}

export const readOrganization = async (deps: Deps, p: Principal, publicId: string) => {
  await authorize(deps, p, 'listOrganizations')
  const [org] = await deps.db
    .select()
    .from(organizations)
    .where(and(eq(organizations.publicId, publicId), visible(p)))
  if (!org) throw notFound('Organization not found')
  return org
}

/**
 * Creates an organization with its first workspace (root only): an operator onboards a customer
 * without touching the database, then invites its first ADMIN into that workspace as root.
 */
export const createOrganization = async (deps: Deps, p: Principal, input: { name: string }) => {
  await authorize(deps, p, 'createOrganization')
  const name = validOrganizationName(input.name)
  const publicId = newPublicId()
  const [[org], [workspace]] = await commit(deps, p, {
    event: { action: 'createOrganization', targetType: 'organization', targetId: publicId },
    writes: [
      deps.db
        .insert(organizations)
        .values({ publicId, name, createdBy: p.publicId, updatedBy: p.publicId })
        .returning(),
      deps.db
        .insert(workspaces)
        .values({
          id: sql`(SELECT coalesce(max(id), ${FIRST_WORKSPACE_ID - 1}) + 1 FROM workspaces)`,
          organizationId: sql`(SELECT id FROM organizations WHERE public_id = ${publicId})`,
          name,
          createdBy: p.publicId,
          updatedBy: p.publicId,
        })
        .returning({ id: workspaces.id }),
    ],
  })
  if (!org || !workspace) throw new Error('The organization was not stored')
  return { organization: org, workspaceId: workspace.id }
}

/** Root, or an ADMIN of a workspace of the organization (the one the request acts in). */
const manageable = async (deps: Deps, p: Principal, publicId: string) => {
  const org = await readOrganization(deps, p, publicId)
  if (p.kind !== 'root') await authorizeIn(deps, p, 'manageOrganization')
  return org
}

export const renameOrganization = async (deps: Deps, p: Principal, publicId: string, input: { name: string }) => {
  const org = await manageable(deps, p, publicId)
  const name = validOrganizationName(input.name)
  const [[updated]] = await commit(deps, p, {
    event: { action: 'renameOrganization', targetType: 'organization', targetId: publicId, organizationId: org.id },
    writes: [
      deps.db
        .update(organizations)
        .set({ name, updatedBy: p.publicId })
        .where(eq(organizations.id, org.id))
        .returning(),
    ],
  })
  return updated ?? org
}

/** Deletes an organization and its workspaces, unless anyone is still a member of them (409). */
export const deleteOrganization = async (deps: Deps, p: Principal, publicId: string) => {
  const org = await manageable(deps, p, publicId)
  await commit(deps, p, {
    event: { action: 'deleteOrganization', targetType: 'organization', targetId: publicId, organizationId: org.id },
    checks: [
      {
        reason: 'organization-has-members',
        holds: sql`NOT EXISTS ${peopleOf(deps, org.id)}`,
        refusal: conflict('This organization still has members: remove them first'),
      },
    ],
    writes: [deps.db.delete(organizations).where(eq(organizations.id, org.id))],
  })
}
