import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { users, workspaces } from '../../src/db/schema'
import { api, db, seedOrganization, seedSignedIn, seedUser, signIn } from '../support'

type Doc = {
  data: { type: string; id: string; attributes: Record<string, unknown> }[]
  meta: { count?: number; more?: boolean }
  links: Record<string, string>
}
type Errors = { errors: { status: string; code: string; detail: string; source?: { parameter?: string } }[] }

const { org, workspace, user: admin, headers } = await seedSignedIn('ADMIN', { name: 'Zed Admin' })
const [sibling] = await db
  .insert(workspaces)
  .values({ id: workspace.id + 100, organizationId: org.id, name: 'Sibling' })
  .returning()
const ann = await seedUser(workspace.id, 'DEVELOPER', { name: 'Ann Analyst', email: 'ann@acme.test' })
const bob = await seedUser(workspace.id, 'GUEST', { name: 'Bob Builder', email: 'bob@acme.test' })
const disabled = await seedUser(workspace.id, 'GUEST', { name: 'Dee Disabled', email: 'dee@acme.test' })
await db
  .update(users)
  .set({ enabled: false, createdAt: new Date('2020-01-01T00:00:00Z') })
  .where(eq(users.id, disabled.id))
// A member of another workspace of the same organization is not a member of this one.
const colleague = await seedUser(sibling!.id, 'GUEST', { name: 'Cy Colleague', email: 'cy@acme.test' })
const outsider = await seedUser((await seedOrganization()).workspace.id, 'ADMIN', { email: 'outsider@other.test' })

const list = (query: string, h: Record<string, string> = headers) => api(`/accounts${query}`, { headers: h })

describe('GET /accounts', () => {
  it('lists the organization users as iam:accounts, in the JSON:API media type', async () => {
    const res = await list('')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/vnd.api+json')
    const doc = await res.json<Doc>()
    expect(doc.data.map((r) => r.id)).toEqual([admin.publicId, ann.publicId, bob.publicId, disabled.publicId])
    expect(doc.data[1]).toEqual({
      type: 'iam:accounts',
      id: ann.publicId,
      attributes: expect.objectContaining({
        name: 'Ann Analyst',
        email: 'ann@acme.test',
        enabled: true,
        role_name: 'DEVELOPER',
        created_at: expect.stringMatching(/Z$/),
      }),
    })
    expect(doc.meta).toEqual({})
    expect(doc.data.some((r) => [outsider.publicId, colleague.publicId].includes(r.id))).toBe(false)
  })

  it('pages with page[number] and page[size], and counts on request', async () => {
    const first = await (await list('?page[size]=2&count=true')).json<Doc>()
    expect(first.data).toHaveLength(2)
    expect(first.meta).toEqual({ count: 4, more: true })
    expect(new URL(first.links.next!).searchParams.get('page[number]')).toBe('2')
    expect(new URL(first.links.last!).searchParams.get('page[number]')).toBe('2')
    const page2 = await (await list('?page[size]=2&page[number]=2')).json<Doc>()
    expect(page2.data.map((r) => r.id)).toEqual([bob.publicId, disabled.publicId])
    expect(page2.links.next).toBeUndefined()
    expect(new URL(page2.links.prev!).searchParams.get('page[number]')).toBe('1')
  })

  it('sorts by allow-listed keys, descending with a minus', async () => {
    const doc = await (await list('?sort=-name')).json<Doc>()
    expect(doc.data.map((r) => r.attributes.name)).toEqual(['Zed Admin', 'Dee Disabled', 'Bob Builder', 'Ann Analyst'])
  })

  it('filters by equality, __match, booleans, dates and __in', async () => {
    const ids = async (q: string) => (await (await list(q)).json<Doc>()).data.map((r) => r.id)
    expect(await ids('?filter[email]=bob@acme.test')).toEqual([bob.publicId])
    expect(await ids('?filter[email__match]=ACME.TEST')).toEqual([ann.publicId, bob.publicId, disabled.publicId])
    expect(await ids('?filter[name__match]=build')).toEqual([bob.publicId])
    expect(await ids('?filter[name__match]=%25')).toEqual([]) // % is literal, not a wildcard
    expect(await ids('?filter[enabled]=false')).toEqual([disabled.publicId])
    expect(await ids('?filter[created_at__lte]=2021-01-01')).toEqual([disabled.publicId])
    expect(await ids('?filter[created_at__gte]=2021-01-01&filter[enabled]=true')).toHaveLength(3)
    expect(await ids('?filter[role_name__in]=GUEST,DEVELOPER&sort=email')).toEqual([
      ann.publicId,
      bob.publicId,
      disabled.publicId,
    ])
    expect(await ids('?filter[role_name__in][]=GUEST&filter[role_name__in][]=ADMIN')).toHaveLength(3)
    expect(await ids('?filter[role_name__nin]=GUEST')).toEqual([admin.publicId, ann.publicId])
  })

  it('returns a sparse fieldset', async () => {
    const doc = await (await list('?fields[iam:accounts]=email,name&filter[email]=ann@acme.test')).json<Doc>()
    expect(doc.data[0]?.attributes).toEqual({ email: 'ann@acme.test', name: 'Ann Analyst' })
  })

  it('rejects unknown or malformed parameters with 400 naming the parameter', async () => {
    const cases: [string, string, RegExp][] = [
      ['?filter[password_hash]=x', 'filter[password_hash]', /is a secret/],
      ['?filter[enabled]=maybe', 'filter[enabled]', /must be a boolean/],
      ['?filter[created_at__gte]=yesterday', 'filter[created_at__gte]', /ISO 8601/],
      ['?page[size]=1001', 'page[size]', /between 1 and 1000/],
      ['?page[number]=0', 'page[number]', /positive integer/],
      ['?sort=password_hash', 'sort', /cannot sort by password_hash/],
      ['?included=account', 'included', /cannot include/],
      [
        `?filter[email__in]=${Array.from({ length: 51 }, (_, i) => `u${i}@x.io`).join(',')}`,
        'filter[email__in]',
        /at most 50/,
      ],
    ]
    for (const [query, parameter, detail] of cases) {
      const res = await list(query)
      expect(res.status, query).toBe(400)
      expect(res.headers.get('content-type')).toBe('application/vnd.api+json')
      const body = await res.json<Errors>()
      expect(body.errors[0]).toMatchObject({ status: '400', code: 'VALIDATION_FAILED', source: { parameter } })
      expect(body.errors[0]?.detail).toMatch(detail)
    }
  })

  it('answers 401 in JSON:API errors without credentials', async () => {
    const res = await api('/accounts')
    expect(res.status).toBe(401)
    const body = await res.json<Errors>()
    expect(body.errors[0]).toMatchObject({ status: '401', code: 'UNAUTHENTICATED' })
  })

  it('shows a non-admin only themselves', async () => {
    const doc = await (await list('', await signIn(bob, workspace.id))).json<Doc>()
    expect(doc.data.map((r) => r.id)).toEqual([bob.publicId])
  })

  it('shows another organization none of these users', async () => {
    const other = await seedSignedIn('ADMIN')
    const doc = await (await list('?count=true', other.headers)).json<Doc>()
    expect(doc.data.map((r) => r.id)).toEqual([other.user.publicId])
    expect(doc.meta.count).toBe(1)
    expect(org.id).not.toBe(other.org.id)
  })
})

describe('list filters and D1 limits', () => {
  it('refuses more than 60 filter values in all, since D1 binds at most 100 parameters', async () => {
    const many = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}@x.io`).join(',')
    const res = await list(`?filter[email__in]=${many(50, 'a')}&filter[role_name__in]=${many(11, 'R')}`)
    expect(res.status).toBe(400)
    const body = await res.json<Errors>()
    expect(body.errors[0]).toMatchObject({ source: { parameter: 'filter' } })
    expect(body.errors[0]?.detail).toMatch(/at most 60 values in all/)
    const ok = await list(`?filter[email__in]=${many(50, 'a')}&filter[role_name__in]=${many(10, 'R')}&count=true`)
    expect(ok.status).toBe(200)
  })
})
