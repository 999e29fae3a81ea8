// The scenarios: for each, the request each target answers. A request is built from its sequence
// number `n`, so that logins, API keys and role changes rotate over the seeded data.
import { ipFor, LOGIN_EMAILS, PASSWORD, PEER_PAGE, WRITE_TARGETS } from './data.mjs'

const json = { 'Content-Type': 'application/json' }
const bearer = (token) => ({ Authorization: `Bearer ${token}` })

/**
 * `seeded`: what seeding answered, `{edge, peer, floor, peerUrl}`. A scenario has `kind` read,
 * login or write, and a request builder for `edge`, `floor` and `peer` (null where the peer has
 * no counterpart); `peerRoute` names what the peer answers.
 */
export const scenarios = ({ edge, peer, floor, peerUrl }) => {
  const floorRequest = () => ({ method: 'GET', path: '/', headers: bearer(floor.token) })
  const peerAuth = { Cookie: peer.cookie, Origin: peerUrl }
  // At most PEER_PAGE (99) members a page: Better Auth on D1 cannot list 100 (see data.mjs).
  const listMembers = (extra = '') =>
    `/api/auth/organization/list-members?organizationId=${peer.organizationId}&limit=${PEER_PAGE}${extra}`
  // A different client address per login: the per-IP throttle must not answer 429.
  const loginIp = (n) => ipFor(n + 1, 10)
  const target = (n) => WRITE_TARGETS[n % WRITE_TARGETS.length]
  // Each target member flips on each visit: the first change, then back.
  const flip = (n) => Math.floor(n / WRITE_TARGETS.length) % 2 === 0

  return [
    {
      id: 'me',
      short: 'GET /me',
      title: 'Session check and profile',
      kind: 'read',
      edgeRoute: 'GET /me (bearer)',
      peerRoute: 'GET /api/auth/get-session (cookie)',
      edge: () => ({ method: 'GET', path: '/me', headers: bearer(edge.token) }),
      peer: () => ({ method: 'GET', path: '/api/auth/get-session', headers: peerAuth }),
      floor: floorRequest,
    },
    {
      id: 'team',
      short: 'getTeamData',
      title: 'Team listing (100 members, 20 invitations)',
      kind: 'read',
      edgeRoute: 'POST /api/getTeamData (bearer)',
      peerRoute: `GET /api/auth/organization/list-members?limit=${PEER_PAGE} (cookie)`,
      edge: () => ({
        method: 'POST',
        path: '/api/getTeamData',
        headers: { ...bearer(edge.token), ...json },
        body: '{}',
      }),
      peer: () => ({ method: 'GET', path: listMembers(), headers: peerAuth }),
      floor: floorRequest,
    },
    {
      id: 'accounts',
      short: 'GET /accounts',
      title: 'User listing, JSON:API (filtered, sorted, 100)',
      kind: 'read',
      edgeRoute: 'GET /accounts?page[size]=100&sort=-created_at&filter[email__match]=bench.example',
      peerRoute: `GET list-members?limit=${PEER_PAGE}&sortBy=createdAt&sortDirection=desc (no email filter in Better Auth)`,
      edge: () => ({
        method: 'GET',
        path: '/accounts?page%5Bsize%5D=100&sort=-created_at&filter%5Bemail__match%5D=bench.example',
        headers: bearer(edge.token),
      }),
      peer: () => ({ method: 'GET', path: listMembers('&sortBy=createdAt&sortDirection=desc'), headers: peerAuth }),
      floor: floorRequest,
    },
    {
      id: 'org-users',
      short: 'GET /org/users',
      title: 'User listing, REST (first page of 100 of 1,000)',
      kind: 'read',
      edgeRoute: 'GET /org/users?limit=100',
      peerRoute: `GET list-members?limit=${PEER_PAGE} (its nearest: Better Auth lists members)`,
      edge: () => ({ method: 'GET', path: '/org/users?limit=100', headers: bearer(edge.token) }),
      peer: () => ({ method: 'GET', path: listMembers(), headers: peerAuth }),
      floor: floorRequest,
    },
    {
      id: 'api-key',
      short: 'X-API-KEY team',
      title: 'API-key authentication (team listing)',
      kind: 'read',
      edgeRoute: 'POST /api/getTeamData (X-API-KEY, 10 keys in turn)',
      peerRoute: `GET list-members?limit=${PEER_PAGE} (x-api-key, 10 keys in turn: the API-key plugin)`,
      edge: (n) => ({
        method: 'POST',
        path: '/api/getTeamData',
        headers: { 'X-API-KEY': edge.apiKeys[n % edge.apiKeys.length], ...json },
        body: '{}',
      }),
      peer: (n) => ({
        method: 'GET',
        path: listMembers(),
        headers: { 'x-api-key': peer.apiKeys[n % peer.apiKeys.length] },
      }),
      floor: floorRequest,
    },
    {
      id: 'login',
      short: 'login',
      title: 'Login (password check, new session)',
      kind: 'login',
      edgeRoute: 'POST /auth/login (900 accounts in turn, an IP per request)',
      peerRoute: 'POST /api/auth/sign-in/email (same accounts)',
      edge: (n) => ({
        method: 'POST',
        path: '/auth/login',
        headers: { ...json, 'CF-Connecting-IP': loginIp(n) },
        body: JSON.stringify({ email: LOGIN_EMAILS[n % LOGIN_EMAILS.length], password: PASSWORD }),
      }),
      peer: (n) => ({
        method: 'POST',
        path: '/api/auth/sign-in/email',
        headers: { ...json, Origin: peerUrl, 'CF-Connecting-IP': loginIp(n) },
        body: JSON.stringify({ email: LOGIN_EMAILS[n % LOGIN_EMAILS.length], password: PASSWORD }),
      }),
      floor: floorRequest,
    },
    {
      id: 'write',
      short: 'makeAdmin',
      title: "Write: change a member's role",
      kind: 'write',
      edgeRoute: 'POST /api/makeAdmin {email, userRole} DEVELOPER <-> MEMBER (ADMIN caller, 40 members in turn)',
      peerRoute: 'POST /api/auth/organization/update-member-role member <-> admin (owner, same 40)',
      edge: (n) => ({
        method: 'POST',
        path: '/api/makeAdmin',
        headers: { ...bearer(edge.token), ...json },
        body: JSON.stringify({ email: target(n), userRole: flip(n) ? 'MEMBER' : 'DEVELOPER' }),
      }),
      peer: (n) => ({
        method: 'POST',
        path: '/api/auth/organization/update-member-role',
        headers: { ...peerAuth, ...json },
        body: JSON.stringify({
          memberId: peer.memberIds[target(n)],
          role: flip(n) ? 'admin' : 'member',
          organizationId: peer.organizationId,
        }),
      }),
      floor: floorRequest,
    },
  ]
}
