import type { ScopeRoleMap } from '../db/schema'
import { invalid } from './errors'
import { type BaseRole, baseRoleOf, roleNameInScope, type Scope } from './roles'

export type ApiTokenUtility = 'BURP' | 'CICD' | 'EXTERNAL_API'

/** The caller's standing in the workspace the request acts on. */
export type WorkspaceAccess = {
  id: number
  organizationId: number
  /** The role name held in the request's scope: built-in, custom, or NO_ACCESS. */
  roleName: string
  /** `roleName` resolved to a built-in role. */
  role: BaseRole
  /** The organization's plan features; an empty map means every feature. */
  entitlements: Record<string, boolean>
  /** The caller's membership; null for root, who is ADMIN in every scope. */
  membership: { role: string; scopeRoles: ScopeRoleMap | null } | null
  /** The workspace's custom roles: name → base role. */
  customRoles: ReadonlyMap<string, string>
}

/** Who is calling. Services take it explicitly and decide what it may do. */
export type Principal = {
  kind: 'user' | 'serviceAccount' | 'root'
  /** users.id or service_accounts.id; null for root. */
  id: number | null
  publicId: string | null
  email: string | null
  scope: Scope
  workspace: WorkspaceAccess | null
  /** The session the request came with, if any. */
  loginId: string | null
  apiToken: { id: number; utility: ApiTokenUtility } | null
}

/** How the principal is named in audit events. */
export const actorIdOf = (p: Principal | null) => (p ? (p.kind === 'root' ? 'root' : p.publicId) : null)

/** The caller's base role in any scope of the workspace, not only the request's. */
export const roleIn = (ws: WorkspaceAccess, scope: string): BaseRole =>
  ws.membership ? baseRoleOf(roleNameInScope(ws.membership, scope), ws.customRoles) : 'ADMIN'

/** The workspace a request acts on; root names one with the `account` header. */
export const workspaceOf = (p: Principal): WorkspaceAccess => {
  if (!p.workspace) throw invalid('This action needs a workspace: send its id in the account header')
  return p.workspace
}

/** The calling user's id; service accounts and root have no user. */
export const userIdOf = (p: Principal): number => {
  if (p.kind !== 'user' || p.id === null) throw invalid('Only a signed-in user can do this')
  return p.id
}

/** The membership column naming the caller: users and service accounts both hold memberships. */
export const memberKeyOf = (p: Principal): { userId: number } | { serviceAccountId: number } => {
  if (p.id === null || p.kind === 'root') throw invalid('Root belongs to no workspace; use a user account')
  return p.kind === 'user' ? { userId: p.id } : { serviceAccountId: p.id }
}
