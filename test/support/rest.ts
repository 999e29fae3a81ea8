import { expect } from 'vitest'
import { api, type Headers, seedSignedIn, seedUser, signIn } from '.'

/** An RFC 9457 problem as the REST surface answers it, with LakeSail's `code` and `message`. */
export type Problem = {
  type: string
  title: string
  status: number
  detail: string
  instance: string
  code: string
  message: string
  requestId?: string
  errors?: { detail: string; pointer?: string; parameter?: string }[]
}

/** A request with a JSON body, or without a body. */
export const send = (method: string, path: string, headers: Headers, body?: unknown) =>
  api(path, {
    method,
    headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })

/**
 * Asserts a problem answer: the status (the body shown when it differs), the problem+json media
 * type, and the same status (and `code`, when given) in the body; answers the problem.
 */
export const problemOf = async (res: Response, status: number, code?: string) => {
  const text = await res.clone().text()
  expect(res.status, text).toBe(status)
  expect(res.headers.get('content-type')).toContain('application/problem+json')
  const problem = await res.json<Problem>()
  expect(problem).toMatchObject(code === undefined ? { status } : { status, code })
  return problem
}

/** Asserts a problem answer (see `problemOf`) whose message matches `message`, when given. */
export const expectProblem = async (res: Response, status: number, message?: RegExp) => {
  const problem = await problemOf(res, status)
  if (message) expect(problem.message).toMatch(message)
  return problem
}

/** Asserts that a problem names `field`: as an error's pointer or parameter, in an error's detail, or in its message. */
export const expectFieldNamed = (problem: Problem, field: string) => {
  const located = (problem.errors ?? []).some(
    (e) => e.pointer === `#/${field}` || e.parameter === field || e.detail.includes(field),
  )
  expect(located || problem.message.includes(field), `${field} named in ${JSON.stringify(problem)}`).toBe(true)
}

/** An organization with an ADMIN and a MEMBER, both signed in to its workspace. */
export const seedAdminAndMember = async () => {
  const { org, workspace, user: admin, headers } = await seedSignedIn('ADMIN')
  const member = await seedUser(workspace.id, 'MEMBER')
  return { org, workspace, admin, headers, member, memberHeaders: await signIn(member, workspace.id) }
}

/**
 * The REST paging contract of a list, walked over `ids` (its whole content in order, 3 or more):
 * limit bounds, marker round trip, no marker key on the last page, limit=0, foreign and forged markers.
 */
export const expectPaging = async (path: string, headers: Headers, ids: string[], foreignMarker: string) => {
  const get = (query: string) => send('GET', `${path}?${query}`, headers)
  for (const bad of ['101', '-1', 'abc', '1.5', ''])
    expect((await expectProblem(await get(`limit=${bad}`), 400, /limit/)).errors?.[0]?.parameter).toBe('limit')

  const all = await (await get('limit=100')).json<{ items: { id: string }[] }>()
  expect(all.items.map((t) => t.id)).toEqual(ids)
  expect(Object.keys(all)).toEqual(['items'])
  expect((await (await send('GET', path, headers)).json<{ items: unknown[] }>()).items).toHaveLength(ids.length)

  const seen: string[] = []
  let marker: string | undefined
  let pages = 0
  do {
    const res = await get(`limit=2${marker === undefined ? '' : `&marker=${encodeURIComponent(marker)}`}`)
    expect(res.status).toBe(200)
    const page = await res.json<{ items: { id: string }[]; marker?: string }>()
    seen.push(...page.items.map((t) => t.id))
    marker = page.marker
    pages++
    if (marker === undefined) expect(Object.keys(page)).toEqual(['items'])
  } while (marker !== undefined)
  expect(seen).toEqual(ids)
  expect(pages).toBe(Math.ceil(ids.length / 2))

  const zero = await (await get('limit=0')).json<{ items: unknown[]; marker?: string }>()
  expect(zero.items).toEqual([])
  expect(zero.marker).toBeDefined()
  const resumed = await (await get(`limit=100&marker=${encodeURIComponent(zero.marker ?? '')}`)).json<{
    items: { id: string }[]
  }>()
  expect(resumed.items.map((t) => t.id)).toEqual(ids)

  const [payload = '', signature = ''] = (zero.marker ?? '').split('.')
  const list = JSON.parse(atob(payload.replaceAll('-', '+').replaceAll('_', '/'))).list
  const forged = `${btoa(JSON.stringify({ list, after: 0 })).replaceAll('=', '')}.${signature}`
  for (const bad of ['garbage', forged, foreignMarker, `${payload}.`])
    expect(
      (await expectProblem(await get(`marker=${encodeURIComponent(bad)}`), 400, /marker/)).errors?.[0]?.parameter,
    ).toBe('marker')
}
