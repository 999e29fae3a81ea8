import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { newPublicId } from '../../src/auth/crypto'
import { auditEvents, organizations, workspaces } from '../../src/db/schema'
import { db, ROOT, seedSignedIn, seedUser, signIn } from '../support'
import { expectErrors, JSON_API, send } from '../support/jsonapi'

/** /organizations: root manages every organization, an organization's ADMIN their own; nobody sees another. */

type Org = { type: string; id: string; attributes: Record<string, unknown> }
type Doc = { data: Org; meta?: Record<string, unknown> }
type Collection = { data: Org[]; meta: Record<string, unknown>; links: Record<string, string | undefined> }

const doc = (attributes: Record<string, unknown>, type = 'iam:organizations') => ({ data: { type, attributes } })
const shortName = () => `Org ${newPublicId().slice(0, 6)}`

/** A new organization, made by root as an operator would: its document and first workspace id. */
const createOrg = async (name = shortName()) => {
  const res = await send('POST', '/organizations', ROOT, doc({ name }))
  expect(res.status, await res.clone().text()).toBe(201)
  const body = await res.json<Doc>()
  return { org: body.data, workspaceId: body.meta?.first_workspace_id as number }
}
const orgRow = async (publicId: string) =>
  (await db.select().from(organizations).where(eq(organizations.publicId, publicId)))[0]

describe('POST /organizations', () => {
  it('lets root create an organization (201) with its first workspace in meta', async () => {
    const name = shortName()
    const res = await send('POST', '/organizations', ROOT, doc({ name }))
    expect(res.status, await res.clone().text()).toBe(201)
    expect(res.headers.get('content-type')).toBe(JSON_API)
    const body = await res.json<Doc>()
    expect(body.data).toEqual({
      type: 'iam:organizations',
      id: expect.stringMatching(/^[A-Z0-9]{10}$/),
      attributes: { name, created_at: expect.stringMatching(/Z$/), updated_at: expect.stringMatching(/Z$/) },
    })
    const workspaceId = body.meta?.first_workspace_id
    expect(workspaceId).toEqual(expect.any(Number))
    const [workspace] = await db
      .select()
      .from(workspaces)
      .where(eq(workspaces.id, workspaceId as number))
    expect(workspace?.organizationId).toBe((await orgRow(body.data.id))?.id)
    expect((await send('GET', `/organizations/${body.data.id}`, ROOT)).status).toBe(200)
  })

  it('refuses an ADMIN and a MEMBER with 403, and creates nothing', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    for (const h of [headers, await signIn(member, workspace.id)]) {
      const name = shortName()
      await expectErrors(await send('POST', '/organizations', h, doc({ name })), 403, 'FORBIDDEN')
      expect(await db.select().from(organizations).where(eq(organizations.name, name))).toEqual([])
    }
  })

  it('refuses read-only and unknown attributes and a wrong type with 422, even from root', async () => {
    for (const [attributes, pointer] of [
      [{ name: 'Acme', id: 'AAAAAAAAAA' }, '/data/attributes/id'],
      [{ name: 'Acme', created_at: '2020-01-01T00:00:00Z' }, '/data/attributes/created_at'],
      [{ name: 'Acme', updated_at: '2020-01-01T00:00:00Z' }, '/data/attributes/updated_at'],
      [{ name: 'Acme', entitlements: {} }, '/data/attributes'],
      [{}, '/data/attributes/name'],
    ] as const) {
      const errors = await expectErrors(await send('POST', '/organizations', ROOT, doc(attributes)), 422)
      expect(errors[0]?.source, JSON.stringify(attributes)).toEqual({ pointer })
    }
    const wrongType = await expectErrors(
      await send('POST', '/organizations', ROOT, doc({ name: 'Acme' }, 'iam:accounts')),
      422,
    )
    expect(wrongType[0]?.source).toEqual({ pointer: '/data/type' })
  })

  it('answers 401 without credentials', async () => {
    await expectErrors(await send('POST', '/organizations', {}, doc({ name: 'Acme' })), 401, 'UNAUTHENTICATED')
  })
})

describe('GET /organizations', () => {
  it('shows root every organization, and lets it filter and sort them', async () => {
    const a = await createOrg(`Alpha ${newPublicId().slice(0, 5)}`)
    const b = await createOrg(`Beta ${newPublicId().slice(0, 5)}`)
    const all = await (await send('GET', '/organizations?count=true', ROOT)).json<Collection>()
    expect(all.data.map((o) => o.id)).toEqual(expect.arrayContaining([a.org.id, b.org.id]))
    expect(all.meta).toEqual({ count: all.data.length, more: false })
    const ids = async (query: string) =>
      (await (await send('GET', `/organizations${query}`, ROOT)).json<Collection>()).data.map((o) => o.id)
    expect(await ids(`?filter[id]=${a.org.id}`)).toEqual([a.org.id])
    expect(await ids(`?filter[id__in][]=${a.org.id}&filter[id__in][]=${b.org.id}&sort=-name`)).toEqual([
      b.org.id,
      a.org.id,
    ])
    expect(await ids(`?filter[name]=${encodeURIComponent(b.org.attributes.name as string)}`)).toEqual([b.org.id])
    expect(await ids(`?filter[name__match]=${(a.org.attributes.name as string).slice(6).toLowerCase()}`)).toEqual([
      a.org.id,
    ])
    expect(await ids(`?filter[created_at__gte]=${a.org.attributes.created_at}`)).toEqual(
      expect.arrayContaining([a.org.id, b.org.id]),
    )
    expect(await ids('?filter[created_at__lte]=2000-01-01')).toEqual([])
    const page = await (await send('GET', '/organizations?page[size]=1&count=true', ROOT)).json<Collection>()
    expect(page.data).toHaveLength(1)
    expect(page.meta.more).toBe(all.data.length > 1)
    expect(page.links.next).toBeDefined()
  })

  it('shows an ADMIN and a MEMBER only their own organization', async () => {
    const { org, workspace, headers } = await seedSignedIn('ADMIN')
    await createOrg()
    const member = await seedUser(workspace.id, 'MEMBER')
    for (const h of [headers, await signIn(member, workspace.id)]) {
      const res = await send('GET', '/organizations?count=true', h)
      expect(res.status).toBe(200)
      const body = await res.json<Collection>()
      expect(body.data.map((o) => o.id)).toEqual([org.publicId])
      expect(body.meta).toEqual({ count: 1, more: false })
    }
  })

  it('refuses unknown parameters, filters and sorts with 400 naming them', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    for (const [query, parameter] of [
      ['?filter[entitlements]=x', 'filter[entitlements]'],
      ['?sort=entitlements', 'sort'],
      ['?page[size]=5000', 'page[size]'],
      ['?filter[created_at]=soon', 'filter[created_at]'],
      ['?included[]=workspaces', 'included'],
    ] as const) {
      const errors = await expectErrors(await send('GET', `/organizations${query}`, headers), 400)
      expect(errors[0]?.source).toEqual({ parameter })
    }
  })
})

describe('GET /organizations/{id}', () => {
  it('shows one’s own organization, with a sparse fieldset; another is a 404, like one that does not exist', async () => {
    const { org, headers } = await seedSignedIn('ADMIN')
    const other = await createOrg()
    const res = await send('GET', `/organizations/${org.publicId}?fields[iam:organizations]=name`, headers)
    expect(res.status).toBe(200)
    expect((await res.json<Doc>()).data).toEqual({
      type: 'iam:organizations',
      id: org.publicId,
      attributes: { name: org.name },
    })
    const hidden = await expectErrors(await send('GET', `/organizations/${other.org.id}`, headers), 404, 'NOT_FOUND')
    const missing = await expectErrors(await send('GET', `/organizations/${newPublicId()}`, headers), 404)
    expect(hidden).toEqual(missing)
    // The account header is root's alone: it does not reach another organization.
    await expectErrors(
      await send('GET', `/organizations/${other.org.id}`, { ...headers, account: String(other.workspaceId) }),
      404,
    )
    expect((await send('GET', `/organizations/${other.org.id}`, ROOT)).status).toBe(200)
  })
})

describe('PATCH /organizations/{id}', () => {
  it('lets root and the organization’s ADMIN rename it (200)', async () => {
    const { org, headers } = await seedSignedIn('ADMIN')
    const res = await send('PATCH', `/organizations/${org.publicId}`, headers, doc({ name: 'Renamed Inc' }))
    expect(res.status, await res.clone().text()).toBe(200)
    expect(res.headers.get('content-type')).toBe(JSON_API)
    expect((await res.json<Doc>()).data.attributes.name).toBe('Renamed Inc')
    const byRoot = await send('PATCH', `/organizations/${org.publicId}`, ROOT, doc({ name: 'Root Renamed' }))
    expect(byRoot.status).toBe(200)
    expect((await orgRow(org.publicId))?.name).toBe('Root Renamed')
  })

  it('refuses a MEMBER (403) and an ADMIN of another organization (404), and renames nothing', async () => {
    const { org, workspace } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    await expectErrors(
      await send('PATCH', `/organizations/${org.publicId}`, await signIn(member, workspace.id), doc({ name: 'Mine' })),
      403,
      'FORBIDDEN',
    )
    const stranger = await seedSignedIn('ADMIN')
    await expectErrors(
      await send('PATCH', `/organizations/${org.publicId}`, stranger.headers, doc({ name: 'Mine' })),
      404,
      'NOT_FOUND',
    )
    expect((await orgRow(org.publicId))?.name).toBe(org.name)
  })

  it('refuses read-only attributes with 422 and applies none', async () => {
    const { org, headers } = await seedSignedIn('ADMIN')
    for (const name of ['id', 'created_at', 'updated_at']) {
      const errors = await expectErrors(
        await send('PATCH', `/organizations/${org.publicId}`, headers, doc({ name: 'X', [name]: 'AAAAAAAAAA' })),
        422,
      )
      expect(errors.map((e) => e.source)).toEqual([{ pointer: `/data/attributes/${name}` }])
    }
    expect(await orgRow(org.publicId)).toEqual(org)
  })
})

describe('DELETE /organizations/{id}', () => {
  it('answers 409 while the organization has members, to root and to its ADMIN', async () => {
    const { org, headers } = await seedSignedIn('ADMIN')
    for (const h of [ROOT, headers]) {
      const errors = await expectErrors(await send('DELETE', `/organizations/${org.publicId}`, h), 409, 'CONFLICT')
      expect(errors[0]?.detail).toMatch(/members/)
    }
    expect(await orgRow(org.publicId)).toBeDefined()
  })

  it('counts a pending account as a member (409), and lets root delete the organization once it is empty (204)', async () => {
    const { org, workspaceId } = await createOrg()
    const rootIn = { ...ROOT, account: String(workspaceId) }
    const invited = await send(
      'POST',
      '/accounts',
      rootIn,
      doc({ email: `first-${newPublicId().toLowerCase()}@example.com`, role_name: 'ADMIN' }, 'iam:accounts'),
    )
    expect(invited.status).toBe(201)
    await expectErrors(await send('DELETE', `/organizations/${org.id}`, ROOT), 409, 'CONFLICT')
    const accountId = (await invited.json<Doc>()).data.id
    expect((await send('DELETE', `/accounts/${accountId}`, rootIn)).status).toBe(204)

    const res = await send('DELETE', `/organizations/${org.id}`, ROOT)
    expect(res.status, await res.clone().text()).toBe(204)
    expect(await res.text()).toBe('')
    await expectErrors(await send('GET', `/organizations/${org.id}`, ROOT), 404, 'NOT_FOUND')
    expect(await orgRow(org.id)).toBeUndefined()
    expect(await db.select().from(workspaces).where(eq(workspaces.id, workspaceId))).toEqual([])
    const events = await db.select().from(auditEvents).where(eq(auditEvents.action, 'deleteOrganization'))
    expect(events.some((e) => e.targetId === org.id && e.outcome === 'success')).toBe(true)
  })

  it('refuses a MEMBER (403) and an ADMIN of another organization (404)', async () => {
    const { org, workspace } = await seedSignedIn('ADMIN')
    const member = await seedUser(workspace.id, 'MEMBER')
    await expectErrors(await send('DELETE', `/organizations/${org.publicId}`, await signIn(member, workspace.id)), 403)
    const empty = await createOrg()
    await expectErrors(
      await send('DELETE', `/organizations/${empty.org.id}`, (await seedSignedIn('ADMIN')).headers),
      404,
    )
    expect(await orgRow(empty.org.id)).toBeDefined()
  })
})
