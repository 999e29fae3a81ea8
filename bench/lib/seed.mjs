// Seeds the three targets with the same people: one organization, 1,000 users, a workspace (peer:
// an organization) of 100 members, 20 pending invitations, 10 API tokens. Each target gets them
// the way it writes data itself, as far as practical (see BENCHMARKS.md for what is not).
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  ADMIN_EMAIL,
  API_TOKENS,
  call,
  EXTRA_ADMINS,
  INVITEE_EMAILS,
  ipFor,
  MEMBER_EMAILS,
  MORE_MEMBERS,
  mapLimit,
  OTHER_EMAILS,
  PASSWORD,
  PEER_PAGE,
  WRITE_TARGETS,
} from './data.mjs'
import { BENCH_DIR, wrangler } from './workers.mjs'

const CONCURRENCY = 4
let ipCounter = 1
/** A fresh client address for each credential request (sign-in and invitations are throttled per IP). */
const freshIp = () => ipFor(ipCounter++, 192)

// ---- the floor ---------------------------------------------------------------------------------

/** The floor's table and session, written with wrangler before it starts. Answers its bearer token. */
export const seedFloor = ({ config, persistTo }) => {
  const rows = [...MEMBER_EMAILS, ...OTHER_EMAILS].map(
    (email, i) => `(${i + 1}, '${email}', '${email.split('@')[0]}', ${Date.now() - i * 1000})`,
  )
  const sql = [
    'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT, created_at INTEGER NOT NULL);',
    ...chunk(rows, 100).map((part) => `INSERT INTO users (id, email, name, created_at) VALUES ${part.join(', ')};`),
  ].join('\n')
  mkdirSync(BENCH_DIR, { recursive: true })
  const file = join(BENCH_DIR, 'floor-seed.sql')
  writeFileSync(file, sql)
  const where = ['--local', '--persist-to', persistTo, '--config', config]
  wrangler(['d1', 'execute', 'DB', '--file', file, ...where])
  const token = randomBytes(24).toString('base64url')
  const session = JSON.stringify({ userId: 1 })
  wrangler(['kv', 'key', 'put', `session:${token}`, session, '--binding', 'SESSIONS', ...where])
  return { token }
}

const chunk = (items, size) =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))

// ---- edge-iam ----------------------------------------------------------------------------------

/** A session token for a user, through `POST /auth/login`. */
export const edgeLogin = async (url, email) =>
  (
    await call(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'CF-Connecting-IP': freshIp() },
      body: { email, password: PASSWORD },
    })
  ).body.token

/**
 * edge-iam through its own routes (on the instrumented build): bootstrap, the admin's sign-in,
 * people created as an admin creates them (`POST /org/users`), roles set with `makeAdmin`,
 * invitations with `inviteUsers`, API tokens with `addApiToken`, a second workspace with
 * `createNewAccount` for the 900 others; then one password hash for everyone (the bench-only
 * `/__bench/passwords`) and a session for each member the write scenario changes.
 */
export const seedEdge = async (url, { rootToken }) => {
  await call(`${url}/auth/bootstrap`, {
    method: 'POST',
    body: { email: ADMIN_EMAIL, password: PASSWORD, organization: 'Bench' },
  })
  const token = await edgeLogin(url, ADMIN_EMAIL)
  const auth = { Authorization: `Bearer ${token}` }
  const createPeople = (emails) =>
    mapLimit(emails, CONCURRENCY, (email) =>
      call(`${url}/org/users`, { method: 'POST', headers: auth, body: { email, displayName: email.split('@')[0] } }),
    )
  const setRole = (emails, userRole) =>
    mapLimit(emails, CONCURRENCY, (email) =>
      call(`${url}/api/makeAdmin`, { method: 'POST', headers: auth, body: { email, userRole } }),
    )

  await createPeople(MEMBER_EMAILS.slice(1))
  await setRole(EXTRA_ADMINS, 'ADMIN')
  await setRole(WRITE_TARGETS, 'DEVELOPER')
  await setRole(MORE_MEMBERS, 'MEMBER')
  for (const email of INVITEE_EMAILS)
    await call(`${url}/api/inviteUsers`, {
      method: 'POST',
      headers: { ...auth, 'CF-Connecting-IP': freshIp() },
      body: { inviteeEmail: email, inviteeRole: 'DEVELOPER' },
    })
  const apiKeys = []
  for (let i = 0; i < API_TOKENS; i++) {
    const { body } = await call(`${url}/api/addApiToken`, {
      method: 'POST',
      headers: auth,
      body: { tokenUtility: 'EXTERNAL_API' },
    })
    apiKeys.push(body.apiTokenList[0].key)
  }
  const { body: others } = await call(`${url}/api/createNewAccount`, {
    method: 'POST',
    headers: auth,
    body: { newAccountName: 'Others' },
  })
  await createPeople(OTHER_EMAILS)
  const { body: team } = await call(`${url}/api/goToAccount`, {
    method: 'POST',
    headers: auth,
    body: { newAccountId: 1_000_000 },
  }).then(() => call(`${url}/api/getTeamData`, { method: 'POST', headers: auth, body: {} }))
  const { body: passwords } = await call(`${url}/__bench/passwords`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${rootToken}` },
    body: { password: PASSWORD },
  })
  await mapLimit(WRITE_TARGETS, 2, (email) => edgeLogin(url, email))

  const members = team.filter((e) => !e.isInvitation).length
  const invitations = team.filter((e) => e.isInvitation).length
  if (members !== 100 || invitations !== 20 || passwords.updated !== 999)
    throw new Error(`edge-iam seeding: ${members} members, ${invitations} invitations, ${passwords.updated} passwords`)
  return { token, apiKeys, othersWorkspaceId: others.newAccountId }
}

// ---- the peer ----------------------------------------------------------------------------------

/**
 * Better Auth through its API: its migrations, the owner's sign-up and sign-in, the organization,
 * invitations and API keys through its routes; members through `auth.api.addMember` (server-only);
 * the other 999 users through its internal adapter with the owner's password hash (one scrypt hash,
 * as for edge-iam), then a session for each member the write scenario changes.
 */
export const seedPeer = async (url, { secret }) => {
  const bench = (path, body) =>
    call(`${url}/__bench/${path}`, { method: 'POST', headers: { Authorization: `Bearer ${secret}` }, body })
  const origin = { Origin: url }
  await bench('migrate', {})
  const { body: owner } = await call(`${url}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: origin,
    body: { email: ADMIN_EMAIL, password: PASSWORD, name: 'admin' },
  })
  const cookie = await peerLogin(url, ADMIN_EMAIL)
  const auth = { ...origin, Cookie: cookie }
  const { body: org } = await call(`${url}/api/auth/organization/create`, {
    method: 'POST',
    headers: auth,
    body: { name: 'Bench', slug: 'bench' },
  })
  const ids = {}
  for (const part of chunk([...MEMBER_EMAILS.slice(1), ...OTHER_EMAILS], 100)) {
    const { body } = await bench('users', { emails: part, passwordOf: owner.user.id })
    for (const [i, id] of body.ids.entries()) ids[part[i]] = id
  }
  const roleOf = (email) => (EXTRA_ADMINS.includes(email) ? 'admin' : 'member')
  const memberIds = {}
  for (const part of chunk(MEMBER_EMAILS.slice(1), 50)) {
    const { body } = await bench('members', {
      organizationId: org.id,
      members: part.map((email) => ({ userId: ids[email], role: roleOf(email) })),
    })
    for (const [i, m] of body.members.entries()) memberIds[part[i]] = m.id
  }
  for (const email of INVITEE_EMAILS)
    await call(`${url}/api/auth/organization/invite-member`, {
      method: 'POST',
      headers: auth,
      body: { email, role: 'member', organizationId: org.id },
    })
  const apiKeys = []
  for (let i = 0; i < API_TOKENS; i++) {
    const { body } = await call(`${url}/api/auth/api-key/create`, {
      method: 'POST',
      headers: auth,
      body: { name: `key-${i + 1}` },
    })
    apiKeys.push(body.key)
  }
  await mapLimit(WRITE_TARGETS, 2, (email) => peerLogin(url, email))

  // PEER_PAGE: Better Auth cannot list 100 on D1 (see data.mjs); `total` counts them all.
  const { body: listed } = await call(
    `${url}/api/auth/organization/list-members?organizationId=${org.id}&limit=${PEER_PAGE}`,
    { headers: auth },
  )
  if (listed.total !== 100 || Object.keys(ids).length !== 999)
    throw new Error(`peer seeding: ${listed.total} members, ${Object.keys(ids).length + 1} users`)
  return { cookie, organizationId: org.id, apiKeys, memberIds }
}

/** The session cookie of a user, through Better Auth's sign-in route. */
export const peerLogin = async (url, email) => {
  const { headers } = await call(`${url}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { Origin: url, 'CF-Connecting-IP': freshIp() },
    body: { email, password: PASSWORD },
  })
  const set = headers.get('set-cookie') ?? ''
  const cookie = /better-auth\.session_token=[^;]+/.exec(set)?.[0]
  if (!cookie) throw new Error(`peer sign-in of ${email} set no session cookie`)
  return cookie
}
