import { type SQL, type SQLWrapper, sql } from 'drizzle-orm'
import { customRoles, type ScopeRoleMap } from '../db/schema'

export type { ScopeRoleMap }

import { invalid } from './errors'

export const BUILT_IN_ROLES = [
  'ADMIN',
  'MEMBER',
  'DEVELOPER',
  'GUEST',
  'THREAT_ENGINEER',
  'THREAT_VIEWER',
  'NO_ACCESS',
] as const
export type BaseRole = (typeof BUILT_IN_ROLES)[number]

/** Scopes a membership can grant; MCP and GEN_AI exist only as request contexts. */
export const GRANTABLE_SCOPES = ['API', 'AGENTIC', 'ENDPOINT', 'DAST'] as const
export const REQUEST_SCOPES = ['API', 'MCP', 'GEN_AI', 'AGENTIC', 'DAST', 'ENDPOINT'] as const
export type Scope = (typeof REQUEST_SCOPES)[number]

/** Roles each role may assign, itself included. */
export const ROLE_HIERARCHY: Record<BaseRole, readonly BaseRole[]> = {
  ADMIN: ['ADMIN', 'MEMBER', 'DEVELOPER', 'GUEST', 'THREAT_ENGINEER', 'THREAT_VIEWER'],
  MEMBER: ['MEMBER', 'DEVELOPER', 'GUEST'],
  DEVELOPER: ['DEVELOPER', 'GUEST'],
  GUEST: ['GUEST'],
  THREAT_ENGINEER: ['THREAT_ENGINEER', 'THREAT_VIEWER', 'DEVELOPER', 'MEMBER', 'GUEST'],
  THREAT_VIEWER: ['THREAT_VIEWER', 'DEVELOPER', 'MEMBER', 'GUEST'],
  NO_ACCESS: ['NO_ACCESS'],
}

export const ROLE_DISPLAY_NAMES: Record<BaseRole, string> = {
  ADMIN: 'ADMIN',
  MEMBER: 'SECURITY ENGINEER',
  DEVELOPER: 'DEVELOPER',
  GUEST: 'GUEST',
  THREAT_ENGINEER: 'THREAT ENGINEER',
  THREAT_VIEWER: 'THREAT VIEWER',
  NO_ACCESS: 'NO_ACCESS',
}

export const isBuiltInRole = (name: string): name is BaseRole => (BUILT_IN_ROLES as readonly string[]).includes(name)

export const parseScope = (header: string | undefined | null): Scope => {
  const upper = header?.trim().toUpperCase()
  return (REQUEST_SCOPES as readonly string[]).includes(upper ?? '') ? (upper as Scope) : 'API'
}

export const canAssign = (assigner: BaseRole, role: BaseRole) => ROLE_HIERARCHY[assigner].includes(role)

/** Every grantable scope mapped to one role: what a workspace creator or bootstrap admin gets. */
export const allScopes = (role: string): ScopeRoleMap => Object.fromEntries(GRANTABLE_SCOPES.map((s) => [s, role]))

/** A membership's grant: a role for every scope, or a role per scope when the map is not empty. */
export type Membership = { role: string; scopeRoles: ScopeRoleMap | null }

/** Custom role name (upper-cased) → the built-in role it acts as. */
export type CustomRoles = ReadonlyMap<string, string>

export const hasScopeMap = (m: Membership) => m.scopeRoles !== null && Object.keys(m.scopeRoles).length > 0

/**
 * The one rule for what a member may do in a scope: the scope map wins when present (a scope
 * missing from it is NO_ACCESS), otherwise the membership's role applies to every scope; a custom
 * role acts as its base role; no membership, or an unknown name, is NO_ACCESS (fail closed).
 * `effectiveRoleSql` below is the same rule in SQL.
 */
export const effectiveRole = (
  m: Membership | null,
  scope: string,
  custom: CustomRoles,
): { name: string; base: BaseRole } => {
  if (!m) return { name: 'NO_ACCESS', base: 'NO_ACCESS' }
  const name = hasScopeMap(m) ? (m.scopeRoles?.[scope] ?? 'NO_ACCESS') : m.role
  if (isBuiltInRole(name)) return { name, base: name }
  const base = custom.get(name.toUpperCase())
  return { name, base: base && isBuiltInRole(base) ? base : 'NO_ACCESS' }
}

/** A workspace's custom roles as one SQL value (a JSON object, read back as a map), so that a lookup stays one query. */
export const customRolesOf = (workspaceId: SQLWrapper) =>
  sql`(SELECT json_group_object(${customRoles.name}, ${customRoles.baseRole}) FROM ${customRoles} WHERE ${customRoles.workspaceId} = ${workspaceId})`.mapWith(
    (v: string | null): CustomRoles => new Map(Object.entries(JSON.parse(v ?? '{}') as Record<string, string>)),
  )

/**
 * `effectiveRole` as SQL over a membership row (its `role`, `scope_roles` and `workspace_id`
 * columns, which may be NULL for no membership): the role name, and the base role it acts as.
 */
export const effectiveRoleSql = (
  m: { role: SQLWrapper; scopeRoles: SQLWrapper; workspaceId: SQLWrapper },
  scope: string,
): { name: SQL<string>; base: SQL<BaseRole> } => {
  const name = sql<string>`(CASE WHEN ${m.scopeRoles} IS NOT NULL AND ${m.scopeRoles} <> '{}' THEN coalesce(json_extract(${m.scopeRoles}, ${`$.${scope}`}), 'NO_ACCESS') ELSE coalesce(${m.role}, 'NO_ACCESS') END)`
  const builtIn = sql.join(
    BUILT_IN_ROLES.map((r) => sql`${r}`),
    sql`, `,
  )
  const base = sql<BaseRole>`(CASE WHEN ${name} IN (${builtIn}) THEN ${name} ELSE coalesce((SELECT ${customRoles.baseRole} FROM ${customRoles} WHERE ${customRoles.workspaceId} = ${m.workspaceId} AND ${customRoles.name} = ${name}), 'NO_ACCESS') END)`
  return { name, base }
}

// Feature access per role (Akto's permission matrix). ADMIN_ACTIONS is decided by base role alone.
export type Feature = 'INVITE_MEMBERS' | 'API_TOKENS' | 'BILLING' | 'INVENTORY' | 'USER_ACTIONS'
export type Access = 'READ' | 'READ_WRITE'
type Grant = Access | null

const MATRIX: Record<Feature, Record<Exclude<BaseRole, 'NO_ACCESS'>, Grant>> = {
  USER_ACTIONS: {
    ADMIN: 'READ_WRITE',
    MEMBER: 'READ_WRITE',
    DEVELOPER: 'READ_WRITE',
    GUEST: 'READ_WRITE',
    THREAT_ENGINEER: 'READ_WRITE',
    THREAT_VIEWER: 'READ_WRITE',
  },
  INVITE_MEMBERS: {
    ADMIN: 'READ_WRITE',
    MEMBER: 'READ_WRITE',
    DEVELOPER: 'READ',
    GUEST: 'READ',
    THREAT_ENGINEER: 'READ_WRITE',
    THREAT_VIEWER: 'READ_WRITE',
  },
  API_TOKENS: {
    ADMIN: 'READ_WRITE',
    MEMBER: 'READ_WRITE',
    DEVELOPER: 'READ_WRITE',
    GUEST: 'READ',
    THREAT_ENGINEER: 'READ_WRITE',
    THREAT_VIEWER: 'READ_WRITE',
  },
  BILLING: {
    ADMIN: 'READ_WRITE',
    MEMBER: 'READ',
    DEVELOPER: 'READ_WRITE',
    GUEST: 'READ',
    THREAT_ENGINEER: 'READ',
    THREAT_VIEWER: 'READ',
  },
  INVENTORY: {
    ADMIN: 'READ_WRITE',
    MEMBER: 'READ_WRITE',
    DEVELOPER: 'READ',
    GUEST: 'READ',
    THREAT_ENGINEER: 'READ_WRITE',
    THREAT_VIEWER: 'READ_WRITE',
  },
}

export const roleHasAccess = (role: BaseRole, feature: Feature, access: Access): boolean => {
  if (role === 'NO_ACCESS') return false
  const grant = MATRIX[feature][role]
  return access === 'READ' ? grant !== null : grant === 'READ_WRITE'
}

/** `VIEWER` in an invitation means GUEST. */
const ROLE_ALIASES: Record<string, BaseRole> = { VIEWER: 'GUEST' }

/** Names no custom role may take, compared case-insensitively. */
export const RESERVED_ROLE_NAMES = [...BUILT_IN_ROLES, ...Object.keys(ROLE_ALIASES)]

/**
 * A role name as given (built-in, alias or custom, any case): the name to store and the base role
 * it acts as, or null when no such role exists in the workspace.
 */
export const resolveRole = (
  name: string,
  customRoles: ReadonlyMap<string, string>,
): { name: string; base: BaseRole } | null => {
  const upper = name.trim().toUpperCase()
  const alias = ROLE_ALIASES[upper]
  if (alias) return { name: alias, base: alias }
  if (isBuiltInRole(upper)) return { name: upper, base: upper }
  const base = customRoles.get(upper)
  return base && isBuiltInRole(base) ? { name: upper, base } : null
}

/** Whether the plan grants a feature; an empty plan grants every feature. */
export const hasFeature = (entitlements: Record<string, boolean>, feature: string) =>
  Object.keys(entitlements).length === 0 || entitlements[feature] === true

/**
 * Scopes a workspace may grant, from its organization's plan: API always; AGENTIC and DAST when
 * their features are granted; ENDPOINT unless the plan lists it as not granted. An empty plan
 * grants everything.
 */
export const accessibleScopes = (entitlements: Record<string, boolean>): readonly string[] => {
  if (Object.keys(entitlements).length === 0) return GRANTABLE_SCOPES
  return GRANTABLE_SCOPES.filter(
    (s) =>
      s === 'API' ||
      (s === 'AGENTIC' && entitlements.SECURITY_TYPE_AGENTIC === true) ||
      (s === 'ENDPOINT' && entitlements.ENDPOINT_SECURITY !== false) ||
      (s === 'DAST' && entitlements.AKTO_DAST === true),
  )
}

/** The refusal for a scope the workspace cannot grant, in the dashboard's words. */
export const invalidScope = (scope: string) =>
  invalid(`Invalid product scope: user account does not have access to this scope${scope}`)

/** The refusal for a role name that does not exist in the workspace, listing those that do. */
export const unknownRole = (message: string, name: string, custom: CustomRoles) =>
  invalid(
    `${message}: ${name.trim() || '(empty)'}. Valid roles: ${[...BUILT_IN_ROLES.filter((r) => r !== 'NO_ACCESS'), ...custom.keys()].join(', ')}`,
  )

/** The roles a base role may grant, for messages. */
export const grantableBy = (role: BaseRole, custom: CustomRoles) => [
  ...ROLE_HIERARCHY[role].filter((r) => r !== 'NO_ACCESS'),
  ...[...custom].filter(([, base]) => isBuiltInRole(base) && canAssign(role, base)).map(([name]) => name),
]
