import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import worker from '../../src'
import { customRoles, invitations } from '../../src/db/schema'
import { BASE, db, nextIp, seedApiToken, seedOrganization, seedUser, signIn } from '../support'

/**
 * Who may call which action: reference section 23.5, with the original's defects fixed
 * (updateUserScopeRoleMapping is ADMIN-only, resetCollectionAccessTypes needs inventory write).
 * Written out by hand, so that a change to the policy table has to change this table too.
 */
const ROLES = [
  'ADMIN',
  'MEMBER',
  'DEVELOPER',
  'GUEST',
  'THREAT_ENGINEER',
  'THREAT_VIEWER',
  'CUSTOM_DEV',
  'NO_ACCESS',
] as const
type Role = (typeof ROLES)[number]
const ALL: Role[] = [...ROLES]
const ANY_SCOPE_ACCESS = ALL.filter((r) => r !== 'NO_ACCESS')
const ADMIN_ONLY: Role[] = ['ADMIN']
const INVITERS: Role[] = ['ADMIN', 'MEMBER', 'THREAT_ENGINEER', 'THREAT_VIEWER']
const TOKEN_HOLDERS = ANY_SCOPE_ACCESS.filter((r) => r !== 'GUEST')
const BILLING: Role[] = ['ADMIN', 'DEVELOPER', 'CUSTOM_DEV']

const ALLOWED: Record<string, Role[]> = {
  getTeamData: ANY_SCOPE_ACCESS,
  inviteUsers: INVITERS,
  removeInvitation: INVITERS,
  removeUser: ADMIN_ONLY,
  makeAdmin: ADMIN_ONLY,
  updateUserScopeRoleMapping: ADMIN_ONLY,
  createCustomRole: ADMIN_ONLY,
  updateCustomRole: ADMIN_ONLY,
  deleteCustomRole: ADMIN_ONLY,
  createNewAccount: ADMIN_ONLY,
  goToAccount: ALL,
  updateUsernameAndOrganization: ANY_SCOPE_ACCESS,
  resetUserPassword: ADMIN_ONLY,
  addApiToken: TOKEN_HOLDERS,
  deleteApiToken: TOKEN_HOLDERS,
  logout: ALL,
  saveSubscription: ALL,
  provisionSubscription: BILLING,
  refreshUsageDataForOrg: BILLING,
  applyAccessType: ADMIN_ONLY,
  resetCollectionAccessTypes: INVITERS,
}

/** API tokens act as their (ADMIN) owner, on these actions only. */
const TOKEN_ALLOWED: Record<'BURP' | 'CICD' | 'EXTERNAL_API', string[]> = {
  BURP: ['applyAccessType', 'resetCollectionAccessTypes'],
  CICD: ['applyAccessType', 'resetCollectionAccessTypes', 'refreshUsageDataForOrg'],
  EXTERNAL_API: Object.keys(ALLOWED).filter(
    (a) => !['inviteUsers', 'logout', 'addApiToken', 'deleteApiToken'].includes(a),
  ),
}

let cell = 0

/** A fresh workspace with a caller of the role and whatever each action needs to succeed. */
const setUp = async (role: Role) => {
  const domain = `perm${++cell}.test`
  const { org, workspace } = await seedOrganization()
  await db.insert(customRoles).values([
    { workspaceId: workspace.id, name: 'CUSTOM_DEV', baseRole: 'DEVELOPER' },
    { workspaceId: workspace.id, name: 'DELETEME', baseRole: 'GUEST' },
  ])
  const caller = await seedUser(workspace.id, role === 'NO_ACCESS' ? 'ADMIN' : role, {
    email: `caller@${domain}`,
    // NO_ACCESS: an ADMIN on another scope, with nothing on the request's scope (API).
    ...(role === 'NO_ACCESS' ? { scopeRoles: { AGENTIC: 'ADMIN' } } : {}),
  })
  const target = await seedUser(workspace.id, 'GUEST', { email: `target@${domain}` })
  await db.insert(invitations).values({
    workspaceId: workspace.id,
    email: `pending@${domain}`,
    scopeRoles: { API: 'GUEST' },
    issuerUserId: caller.id,
    codeHash: `hash-${cell}`,
    expiresAt: new Date(Date.now() + 86_400_000),
  })
  const token = await seedApiToken(workspace.id, { userId: caller.id }, 'BURP')
  const bodies: Record<string, unknown> = {
    getTeamData: {},
    inviteUsers: { inviteeEmail: `new@${domain}`, inviteeRole: 'GUEST' },
    removeInvitation: { email: `pending@${domain}` },
    removeUser: { email: target.email },
    makeAdmin: { email: target.email, userRole: 'DEVELOPER' },
    updateUserScopeRoleMapping: { email: target.email, scopeRoleMapping: { API: 'DEVELOPER' } },
    createCustomRole: { roleName: 'NEWROLE', baseRole: 'GUEST' },
    updateCustomRole: { roleName: 'DELETEME', baseRole: 'MEMBER' },
    deleteCustomRole: { roleName: 'DELETEME' },
    createNewAccount: { newAccountName: 'Another' },
    goToAccount: { newAccountId: workspace.id },
    updateUsernameAndOrganization: { username: 'New Name', organization: 'Renamed Org' },
    resetUserPassword: { userEmail: target.email },
    addApiToken: { tokenUtility: 'CICD' },
    deleteApiToken: { apiTokenId: token.id },
    logout: {},
    saveSubscription: { subscription: { endpoint: 'https://push.example/s', keys: { p256dh: 'p', auth: 'a' } } },
    provisionSubscription: {
      customerId: org.publicId,
      planId: 'plan-pro',
      billingPeriod: 'monthly',
      successUrl: 'http://localhost:8787/billing/done',
      cancelUrl: 'http://localhost:8787/billing',
    },
    refreshUsageDataForOrg: {},
    applyAccessType: {},
    resetCollectionAccessTypes: {},
  }
  return {
    workspace,
    caller,
    bodies,
    headers: { ...(await signIn(caller, workspace.id)), 'CF-Connecting-IP': nextIp() },
  }
}

/** Calls an action on a Worker whose billing is configured; only Stigg's network is stubbed. */
const call = (action: string, body: unknown, headers: Record<string, string>) =>
  worker.fetch(
    new Request(`${BASE}/api/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }),
    { ...env, STIGG_API_KEY: 'test-stigg-key' },
    createExecutionContext(),
  )

beforeEach(() => {
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
    const url = input instanceof Request ? input.url : String(input)
    if (!url.startsWith('https://api.stigg.io/')) throw new Error(`unexpected request to ${url}`)
    return Response.json({ data: { provisionSubscription: { status: 'PAYMENT_REQUIRED', checkoutUrl: 'https://c' } } })
  })
})
afterEach(() => vi.restoreAllMocks())

describe('the permission table, driven through every action', () => {
  it('covers all 21 actions', () => {
    expect(Object.keys(ALLOWED)).toHaveLength(21)
  })

  for (const role of ROLES) {
    it(`answers ${role} with 403 exactly where the table says no, and succeeds elsewhere`, async () => {
      const outcomes: string[] = []
      for (const [action, allowed] of Object.entries(ALLOWED)) {
        const { bodies, headers } = await setUp(role)
        const res = await call(action, bodies[action], headers)
        const expected = allowed.includes(role) ? 200 : 403
        if (res.status !== expected) outcomes.push(`${action}: ${res.status} ${await res.text()}`)
      }
      expect(outcomes).toEqual([])
    })
  }
})

describe('API tokens', () => {
  for (const utility of ['BURP', 'CICD', 'EXTERNAL_API'] as const) {
    it(`let ${utility} tokens call only their actions`, async () => {
      const outcomes: string[] = []
      for (const action of Object.keys(ALLOWED)) {
        const { workspace, caller, bodies } = await setUp('ADMIN')
        const { headers } = await seedApiToken(workspace.id, { userId: caller.id }, utility)
        const res = await call(action, bodies[action], { ...headers, 'CF-Connecting-IP': nextIp() })
        const allowed = TOKEN_ALLOWED[utility].includes(action)
        // A token has no session to switch, so goToAccount is refused for that reason, not for access.
        const expected = !allowed ? 403 : action === 'goToAccount' ? 400 : 200
        if (res.status !== expected) outcomes.push(`${action}: ${res.status} ${await res.text()}`)
        else if (!allowed) expect((await res.json<{ error: string }>()).error).toMatch(/tokens cannot /)
      }
      expect(outcomes).toEqual([])
    })
  }
})
