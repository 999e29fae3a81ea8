import { audit } from './audit'
import type { Deps } from './context'
import { AppError, invalid } from './errors'
import type { ApiTokenUtility, Principal, WorkspaceAccess } from './principal'
import { type Access, type Feature, hasFeature, ROLE_DISPLAY_NAMES, roleHasAccess } from './roles'

type Rule =
  /** Any authenticated caller, whatever its role. */
  | { kind: 'signedIn' }
  /** Base role ADMIN in the current workspace and scope. */
  | { kind: 'admin' }
  /** The deployment's root identity only. */
  | { kind: 'root' }
  | { kind: 'feature'; feature: Feature; access: Access }

const signedIn: Rule = { kind: 'signedIn' }
const admin: Rule = { kind: 'admin' }
const root: Rule = { kind: 'root' }
const feature = (f: Feature, access: Access): Rule => ({ kind: 'feature', feature: f, access })

/**
 * Who may do what: the one table every surface goes through. It follows Akto's permission
 * matrix, minus its defects: scope maps are ADMIN-only and resetting collection access types
 * needs inventory write access.
 */
const POLICY = {
  endSession: signedIn,
  savePushSubscription: signedIn,
  switchWorkspace: signedIn,
  readSelf: signedIn,
  listAccounts: signedIn,
  createWorkspace: admin,
  renameSelf: feature('USER_ACTIONS', 'READ_WRITE'),
  listTeam: feature('INVITE_MEMBERS', 'READ'),
  inviteMember: feature('INVITE_MEMBERS', 'READ_WRITE'),
  withdrawInvitation: feature('INVITE_MEMBERS', 'READ_WRITE'),
  removeMember: admin,
  changeMemberRole: admin,
  setMemberScopeRoles: admin,
  issuePasswordReset: admin,
  createCustomRole: admin,
  updateCustomRole: admin,
  deleteCustomRole: admin,
  createApiToken: feature('API_TOKENS', 'READ_WRITE'),
  deleteApiToken: feature('API_TOKENS', 'READ_WRITE'),
  startCheckout: feature('BILLING', 'READ_WRITE'),
  refreshUsage: feature('BILLING', 'READ_WRITE'),
  applyAccessTypes: admin,
  resetCollectionAccessTypes: feature('INVENTORY', 'READ_WRITE'),
  readJob: admin,
  // The API inventory: traffic, collections, access-type settings.
  uploadTraffic: feature('INVENTORY', 'READ_WRITE'),
  readInventory: feature('INVENTORY', 'READ'),
  setAccessTypeSettings: admin,
  // The caller's own account (REST /me).
  updateOwnProfile: signedIn,
  manageOwnEmails: signedIn,
  manageOwnLogins: signedIn,
  manageOwnMfa: signedIn,
  listOwnTeams: signedIn,
  changeOwnPassword: signedIn,
  // The organization's people (REST /org).
  listOrgUsers: admin,
  createOrgUser: admin,
  readOrgUser: admin,
  updateOrgUser: admin,
  deleteOrgUser: admin,
  resetUserMfa: admin,
  resetUserPassword: admin,
  manageTeams: admin,
  manageServiceAccounts: admin,
  readOutbox: root,
  // JSON:API accounts (people with their role in the workspace), organizations and sessions.
  readAccount: signedIn,
  updateOwnAccount: signedIn,
  manageAccounts: admin,
  listOrganizations: signedIn,
  createOrganization: root,
  manageOrganization: admin,
  listSessions: signedIn,
  endOtherSession: signedIn,
} satisfies Record<string, Rule>

export type Action = keyof typeof POLICY

/** Plan features an action needs besides a role. */
const ENTITLEMENTS: Partial<Record<Action, string>> = {
  createWorkspace: 'ACTIVE_ACCOUNTS',
  resetCollectionAccessTypes: 'API_COLLECTIONS',
  createCustomRole: 'RBAC_FEATURE',
  updateCustomRole: 'RBAC_FEATURE',
  deleteCustomRole: 'RBAC_FEATURE',
}

/** What a session opened with a temporary password may do until the user sets their own. */
const WHILE_PASSWORD_CHANGE_REQUIRED: readonly Action[] = ['readSelf', 'changeOwnPassword']

/**
 * Actions no API token may call, whatever its utility: a key must not mint keys (its own or a
 * service account's), invite, or take over its owner's account (password, second factor, addresses).
 */
const NEVER_BY_TOKEN: readonly Action[] = [
  'inviteMember',
  'endSession',
  'createApiToken',
  'deleteApiToken',
  'manageServiceAccounts',
  'updateOwnProfile',
  'manageOwnEmails',
  'manageOwnLogins',
  'manageOwnMfa',
  'changeOwnPassword',
  'updateOwnAccount',
  'listSessions',
  'endOtherSession',
]

/** What BURP and CICD tokens may call; EXTERNAL_API tokens may call every other action. */
export const TOKEN_ACTIONS: Record<Exclude<ApiTokenUtility, 'EXTERNAL_API'>, readonly Action[]> = {
  BURP: ['readSelf', 'uploadTraffic', 'applyAccessTypes', 'resetCollectionAccessTypes'],
  CICD: ['readSelf', 'applyAccessTypes', 'resetCollectionAccessTypes', 'refreshUsage'],
}

const NO_ACCESS_MESSAGE =
  'You do not have access to this product. Please ask Admin to grant access or navigate to accessible product'

/**
 * Why the principal may not perform the action, or null when it may. `feature` is a plan
 * feature this particular call needs besides the action's own.
 */
const denialOf = (p: Principal, action: Action, feature?: string): string | null => {
  if (p.passwordChangeRequired && !WHILE_PASSWORD_CHANGE_REQUIRED.includes(action))
    return `Your password was reset: set a new one first (POST /org/users/${p.publicId}/password)`
  const token = p.apiToken
  if (token) {
    if (NEVER_BY_TOKEN.includes(action)) return `API tokens cannot ${describe(action)}`
    if (token.utility !== 'EXTERNAL_API' && !TOKEN_ACTIONS[token.utility].includes(action))
      return `${token.utility} tokens cannot ${describe(action)}`
  }
  const rule: Rule = POLICY[action]
  if (p.kind === 'root') return null
  if (rule.kind === 'root') return 'Only the root identity may do this'
  if (rule.kind === 'signedIn') return null
  const ws = p.workspace
  if (!ws || ws.role === 'NO_ACCESS') return NO_ACCESS_MESSAGE
  const allowed = rule.kind === 'admin' ? ws.role === 'ADMIN' : roleHasAccess(ws.role, rule.feature, rule.access)
  if (!allowed) return `The role '${ROLE_DISPLAY_NAMES[ws.role]}' does not have access.`
  for (const needed of [ENTITLEMENTS[action], feature]) {
    if (needed && !hasFeature(ws.entitlements, needed)) return 'This feature is not available in your plan.'
  }
  return null
}

/** `createApiToken` → `create api token`, for messages. */
const describe = (action: Action) => action.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)

/**
 * Records a refused attempt and throws the refusal: every check that says no (policy,
 * hierarchy, issuer, last admin, throttles) goes through here, so each leaves an audit event.
 */
export const refuse = async (deps: Deps, p: Principal | null, action: string, error: AppError): Promise<never> => {
  await audit(deps, p, { action, outcome: 'denied', detail: { reason: error.message } })
  throw error
}

/** Fails closed: throws FORBIDDEN, and records the denied attempt, unless the action is allowed. */
export const authorize = async (deps: Deps, p: Principal, action: Action, feature?: string): Promise<void> => {
  const denial = denialOf(p, action, feature)
  if (denial === null) return
  await refuse(
    deps,
    p,
    action,
    new AppError('FORBIDDEN', denial, { detailCode: denial === NO_ACCESS_MESSAGE ? 'NO_ACCESS' : undefined }),
  )
}

/**
 * `authorize` for what only a person has (a profile, addresses, sessions, a second factor):
 * service accounts and root are refused with 403. Returns the caller, typed as that user.
 */
export const authorizeUser = async (deps: Deps, p: Principal, action: Action) => {
  await authorize(deps, p, action)
  if (p.kind !== 'user' || p.id === null || p.publicId === null)
    await refuse(
      deps,
      p,
      action,
      new AppError('FORBIDDEN', 'Only a signed-in user has this: not a service account or root'),
    )
  return p as Principal & { id: number; publicId: string }
}

/** `authorize`, for actions on a workspace: returns the workspace the request acts on. */
export const authorizeIn = async (
  deps: Deps,
  p: Principal,
  action: Action,
  feature?: string,
): Promise<WorkspaceAccess> => {
  if (p.kind === 'root' && !p.workspace)
    throw invalid('Root acts in one workspace at a time: send its id in the account header')
  await authorize(deps, p, action, feature)
  if (!p.workspace) throw invalid('This action needs a workspace: switch to one of yours first')
  return p.workspace
}
