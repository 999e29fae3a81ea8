import type { BaseRole, Scope } from './roles'

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
