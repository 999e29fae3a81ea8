// The data every target is seeded with, and small helpers the seeding and scenarios share.

/** One password for everyone (one hash, reused: see BENCHMARKS.md). Meets edge-iam's rules. */
export const PASSWORD = 'Bench-password-1!'
export const DOMAIN = 'bench.example'

const pad = (n) => String(n).padStart(4, '0')

/** The workspace's (peer: the organization's) 100 members: the admin (owner) first. */
export const ADMIN_EMAIL = `admin@${DOMAIN}`
export const MEMBER_EMAILS = [ADMIN_EMAIL, ...Array.from({ length: 99 }, (_, i) => `member-${pad(i + 2)}@${DOMAIN}`)]
/** The other 900 people (edge-iam: members of a second workspace; peer: users in no organization). */
export const OTHER_EMAILS = Array.from({ length: 900 }, (_, i) => `user-${pad(i + 101)}@${DOMAIN}`)
export const INVITEE_EMAILS = Array.from({ length: 20 }, (_, i) => `invitee-${pad(i + 1)}@${DOMAIN}`)
export const API_TOKENS = 10

/**
 * Roles of the members after the admin (index 1..99 of MEMBER_EMAILS): 4 more admins, then 40
 * members whose role the write scenario flips back and forth (each has one live session, as a
 * member in use would), 30 more, and the rest as created (edge-iam: GUEST; peer: member).
 */
export const EXTRA_ADMINS = MEMBER_EMAILS.slice(1, 5)
export const WRITE_TARGETS = MEMBER_EMAILS.slice(5, 45)
export const MORE_MEMBERS = MEMBER_EMAILS.slice(45, 75)

/**
 * The page the peer lists members in. Better Auth 1.7.25 on D1 cannot list 100 members: it reads
 * their users with one `IN` of 100 ids plus the limit, 101 bound parameters, and D1 allows 100
 * ("too many SQL variables", 500). Its default page is 100 too. So the peer lists 99, the most it can.
 */
export const PEER_PAGE = 99

/** Logins are spread over the people outside the workspace, so the members' sessions stay as seeded. */
export const LOGIN_EMAILS = OTHER_EMAILS

/** A client address per request (documentation and private ranges; the throttles key on it). */
export const ipFor = (n, prefix = 10) => `${prefix}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`

/** A JSON request; answers the parsed body, or throws with the status and body unless `ok(status)`. */
export const call = async (url, { method = 'GET', headers = {}, body, ok = (s) => s >= 200 && s < 300 } = {}) => {
  const res = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!ok(res.status)) throw new Error(`${method} ${url} answered ${res.status}: ${text.slice(0, 500)}`)
  let json = null
  try {
    json = text ? JSON.parse(text) : null
  } catch {
    json = text
  }
  return { status: res.status, headers: res.headers, body: json }
}

/** Runs `fn` over `items` with at most `limit` at a time; answers the results in order. */
export const mapLimit = async (items, limit, fn) => {
  const results = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i], i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
