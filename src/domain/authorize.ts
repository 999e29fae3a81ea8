import { audit } from './audit'
import type { Deps } from './context'
import { AppError } from './errors'
import type { ApiTokenUtility, Principal } from './principal'
import { type Access, type Feature, hasFeature, ROLE_DISPLAY_NAMES, roleHasAccess } from './roles'

type Rule =
  /** Any authenticated caller, whatever its role. */
  | { kind: 'signedIn' }
  /** Base role ADMIN in the current workspace and scope. */
  | { kind: 'admin' }
  | { kind: 'feature'; feature: Feature; access: Access }

const signedIn: Rule = { kind: 'signedIn' }
const admin: Rule = { kind: 'admin' }
const feature = (f: Feature, access: Access): Rule => ({ kind: 'feature', feature: f, access })

/**
 * Who may do what: the one table every surface goes through. It follows Akto's permission
 * matrix, minus its defects: scope maps are ADMIN-only and resetting collection access types
 * needs inventory write access.
 */
const POLICY = {
  logout: signedIn,
  saveSubscription: signedIn,
  goToAccount: signedIn,
  createNewAccount: admin,
  updateUsernameAndOrganization: feature('USER_ACTIONS', 'READ_WRITE'),
  getTeamData: feature('INVITE_MEMBERS', 'READ'),
  inviteUsers: feature('INVITE_MEMBERS', 'READ_WRITE'),
  removeInvitation: feature('INVITE_MEMBERS', 'READ_WRITE'),
  removeUser: admin,
  makeAdmin: admin,
  updateUserScopeRoleMapping: admin,
  resetUserPassword: admin,
  createCustomRole: admin,
  updateCustomRole: admin,
  deleteCustomRole: admin,
  addApiToken: feature('API_TOKENS', 'READ_WRITE'),
  deleteApiToken: feature('API_TOKENS', 'READ_WRITE'),
  provisionSubscription: feature('BILLING', 'READ_WRITE'),
  refreshUsageDataForOrg: feature('BILLING', 'READ_WRITE'),
  applyAccessType: admin,
  resetCollectionAccessTypes: feature('INVENTORY', 'READ_WRITE'),
  readMe: signedIn,
  listAccounts: signedIn,
} satisfies Record<string, Rule>

export type Action = keyof typeof POLICY

/** Plan features an action needs besides a role. */
const ENTITLEMENTS: Partial<Record<Action, string>> = {
  createNewAccount: 'ACTIVE_ACCOUNTS',
  resetCollectionAccessTypes: 'API_COLLECTIONS',
  createCustomRole: 'RBAC_FEATURE',
  updateCustomRole: 'RBAC_FEATURE',
  deleteCustomRole: 'RBAC_FEATURE',
}

/** Actions no API token may call, whatever its utility. */
const NEVER_BY_TOKEN: readonly Action[] = ['inviteUsers', 'logout', 'addApiToken', 'deleteApiToken']

/** What BURP and CICD tokens may call; EXTERNAL_API tokens may call every other action. */
export const TOKEN_ACTIONS: Record<Exclude<ApiTokenUtility, 'EXTERNAL_API'>, readonly Action[]> = {
  BURP: ['readMe', 'applyAccessType', 'resetCollectionAccessTypes'],
  CICD: ['readMe', 'applyAccessType', 'resetCollectionAccessTypes', 'refreshUsageDataForOrg'],
}

const NO_ACCESS_MESSAGE =
  'You do not have access to this product. Please ask Admin to grant access or navigate to accessible product'

/**
 * Why the principal may not perform the action, or null when it may. `feature` is a plan
 * feature this particular call needs besides the action's own.
 */
const denialOf = (p: Principal, action: Action, feature?: string): string | null => {
  const token = p.apiToken
  if (token) {
    if (NEVER_BY_TOKEN.includes(action)) return `API tokens cannot call ${action}`
    if (token.utility !== 'EXTERNAL_API' && !TOKEN_ACTIONS[token.utility].includes(action))
      return `${token.utility} tokens cannot call ${action}`
  }
  if (p.kind === 'root') return null
  const rule: Rule = POLICY[action]
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

/** Fails closed: throws FORBIDDEN, and records the denied attempt, unless the action is allowed. */
export const authorize = async (deps: Deps, p: Principal, action: Action, feature?: string): Promise<void> => {
  const denial = denialOf(p, action, feature)
  if (denial === null) return
  await audit(deps, p, { action, outcome: 'denied', detail: { reason: denial } })
  throw new AppError('FORBIDDEN', denial, { detailCode: denial === NO_ACCESS_MESSAGE ? 'NO_ACCESS' : undefined })
}
