import { invalid } from './errors'
import { type BaseRole, type CustomRoles, effectiveRole, type Membership, REQUEST_SCOPES, type Scope } from './roles'

export type ApiTokenUtility = 'BURP' | 'CICD' | 'EXTERNAL_API'

/** A person's profile, as every surface shows it. */
export type UserProfile = {
  id: number
  publicId: string
  email: string
  givenName: string | null
  familyName: string | null
  displayName: string | null
  enabled: boolean
  createdAt: Date
  createdBy: string | null
  updatedAt: Date
  updatedBy: string | null
}

export type ServiceAccountProfile = {
  id: number
  publicId: string
  organizationId: number
  username: string
  description: string | null
  createdAt: Date
  createdBy: string | null
  updatedAt: Date
  updatedBy: string | null
}

/** Who the caller is: exactly one of root, a user, or a service account. */
export type Identity =
  | { kind: 'root' }
  | { kind: 'user'; user: UserProfile }
  | { kind: 'serviceAccount'; serviceAccount: ServiceAccountProfile }

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
  membership: Membership | null
  /** The workspace's custom roles: name → base role. */
  customRoles: CustomRoles
}

/** The credential a request came with. */
export type Credential =
  | { kind: 'session'; loginId: string }
  | { kind: 'apiToken'; id: number; keyHash: string; utility: ApiTokenUtility }
  | { kind: 'root' }

/** Who is calling. Services take it explicitly and decide what it may do. */
export type Principal = {
  kind: 'user' | 'serviceAccount' | 'root'
  /** users.id or service_accounts.id; null for root. */
  id: number | null
  publicId: string | null
  email: string | null
  identity: Identity
  scope: Scope
  workspace: WorkspaceAccess | null
  credential: Credential
  /** A session opened with a temporary password: it may only read /me and set a password. */
  passwordChangeRequired: boolean
  /** The session the request came with, if any. */
  loginId: string | null
  apiToken: { id: number; utility: ApiTokenUtility } | null
}

/** How the principal is named in audit events. */
export const actorIdOf = (p: Principal | null) => (p ? (p.kind === 'root' ? 'root' : p.publicId) : null)

/** The caller's base role in any scope of the workspace, not only the request's. */
export const roleIn = (ws: WorkspaceAccess, scope: string): BaseRole =>
  ws.membership ? effectiveRole(ws.membership, scope, ws.customRoles).base : 'ADMIN'

/** The caller's base role in every request scope, in a fixed order: what a write re-checks in D1. */
export const roleVector = (membership: Membership | null, custom: CustomRoles) =>
  REQUEST_SCOPES.map((s) => effectiveRole(membership, s, custom).base).join(',')

/** The caller's standing in a workspace, for the request's scope. */
export const workspaceAccess = (
  ws: { id: number; organizationId: number; entitlements: Record<string, boolean>; customRoles: CustomRoles },
  membership: Membership | null,
  scope: Scope,
): WorkspaceAccess => {
  const { name, base } = membership
    ? effectiveRole(membership, scope, ws.customRoles)
    : { name: 'ADMIN', base: 'ADMIN' as const }
  return { ...ws, roleName: name, role: base, membership }
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
