import { and, asc, eq, inArray } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type AccessType,
  apiCollections,
  apiComponents,
  apiSamples,
  auditEvents,
  jobs,
  workspaces,
} from '../../src/db/schema'
import { CLASSIFY_PAGE } from '../../src/domain/inventory-jobs'
import { prepareJob } from '../../src/domain/jobs'
import {
  db,
  deps,
  expectRpcError,
  type Headers,
  post,
  seedApiToken,
  seedCollection,
  seedOrganization,
  seedSignedIn,
  seedTraffic,
  seedUser,
  setPlan,
  signIn,
} from '../support'
import { finishedJob, jobRow } from '../support/queue'

afterEach(() => {
  vi.restoreAllMocks()
})

type Sample = {
  method: string
  url: string
  ip: string
  destIp: string
  direction: 1 | 2 | '1' | '2'
  requestHeaders?: Record<string, string>
}
type Uploaded = { accepted: number; rejected: { index: number; reason: string }[]; apiCollectionIds: number[] }
type Collection = { id: number; hostName: string; displayName: string; accessType: string | null; urlsCount: number }
type ApiInfos = {
  apiInfoList: { id: { apiCollectionId: number; url: string; method: string }; apiAccessTypes: AccessType[] }[]
  next: number | null
}

/** One sample: incoming from a public address to a private one unless told otherwise. */
const sample = (
  url: string,
  ip = '203.0.113.7',
  destIp = '10.0.0.2',
  direction: 1 | 2 = 1,
  method = 'GET',
): Sample & { direction: 1 | 2 } => ({ method, url, ip, destIp, direction })

const observation = (ips: string[], direction: 'incoming' | 'outgoing' = 'incoming') =>
  JSON.stringify({ ips, direction })

const upload = (samples: unknown[], headers: Headers) => post('/api/uploadTraffic', { samples }, headers)

const uploadOk = async (samples: unknown[], headers: Headers) => {
  const res = await upload(samples, headers)
  expect(res.status).toBe(200)
  return res.json<Uploaded>()
}

const collectionsOf = (workspaceId: number) =>
  db.select().from(apiCollections).where(eq(apiCollections.workspaceId, workspaceId)).orderBy(asc(apiCollections.id))

const componentsOf = (workspaceId: number) =>
  db.select().from(apiComponents).where(eq(apiComponents.workspaceId, workspaceId)).orderBy(asc(apiComponents.id))

/** The observations kept per endpoint (`METHOD url`), sorted. */
const observationsOf = async (workspaceId: number) => {
  const rows = await db
    .select({ method: apiComponents.method, url: apiComponents.url, observation: apiSamples.observation })
    .from(apiSamples)
    .innerJoin(apiComponents, eq(apiComponents.id, apiSamples.componentId))
    .where(eq(apiComponents.workspaceId, workspaceId))
  const byEndpoint: Record<string, string[]> = {}
  for (const r of rows) {
    const key = `${r.method} ${r.url}`
    byEndpoint[key] = [...(byEndpoint[key] ?? []), r.observation].sort()
  }
  return byEndpoint
}

const eventsOf = (workspaceId: number, action: string) =>
  db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.workspaceId, workspaceId), eq(auditEvents.action, action)))
    .orderBy(asc(auditEvents.id))

const settingsOf = async (workspaceId: number) =>
  (await db.select({ settings: workspaces.settings }).from(workspaces).where(eq(workspaces.id, workspaceId)))[0]
    ?.settings

/** Starts a job over HTTP and waits until the real queue has run it to the end; answers its row. */
const runJob = async (path: '/api/applyAccessType' | '/api/resetCollectionAccessTypes', headers: Headers) => {
  const res = await post(path, {}, headers)
  expect(res.status).toBe(200)
  const { jobId } = await res.json<{ jobId: string }>()
  const row = await finishedJob(jobId)
  expect(row).toMatchObject({ status: 'succeeded', error: null, attempts: 1 })
  return row
}

const setPrivate = async (privateCidrList: string[], headers: Headers) => {
  const res = await post('/api/updatePrivateCidrIps', { privateCidrList }, headers)
  expect(res.status).toBe(200)
  return res.json<{ privateCidrList: string[] }>()
}

const setPartners = async (partnerIpList: string[], headers: Headers) => {
  const res = await post('/api/updatePartnerIps', { partnerIpList }, headers)
  expect(res.status).toBe(200)
  return res.json<{ partnerIpList: string[] }>()
}

const listCollections = async (headers: Headers) => {
  const res = await post('/api/getAllCollections', {}, headers)
  expect(res.status).toBe(200)
  return (await res.json<{ apiCollections: Collection[] }>()).apiCollections
}

const fetchInfos = (apiCollectionId: number, headers: Headers, after?: number) =>
  post(
    '/api/fetchApiInfosForCollection',
    after === undefined ? { apiCollectionId } : { apiCollectionId, after },
    headers,
  )

/** The access types of a collection's endpoints, as `METHOD url` → types (one page). */
const accessTypesIn = async (apiCollectionId: number, headers: Headers) => {
  const res = await fetchInfos(apiCollectionId, headers)
  expect(res.status).toBe(200)
  const body = await res.json<ApiInfos>()
  expect(body.next).toBeNull()
  for (const info of body.apiInfoList) expect(info.id.apiCollectionId).toBe(apiCollectionId)
  return Object.fromEntries(body.apiInfoList.map((i) => [`${i.id.method} ${i.id.url}`, i.apiAccessTypes]))
}

/** An API token made through the action by the signed-in caller. */
const createToken = async (headers: Headers, tokenUtility: 'BURP' | 'CICD' | 'EXTERNAL_API') => {
  const res = await post('/api/addApiToken', { tokenUtility }, headers)
  expect(res.status).toBe(200)
  const [token] = (await res.json<{ apiTokenList: { key: string }[] }>()).apiTokenList
  return { 'X-API-KEY': token!.key }
}

const METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE, CONNECT'
const CIDR_HINT = 'Write an address with its prefix, like 10.0.0.0/8 or fd00::/8 (one address: /32 or /128)'
const IP_HINT = 'Write one IPv4 or IPv6 address per entry, like 203.0.113.7'
const SKIPPED = 'No private CIDR list is set: access types were left as they were'

describe('POST /api/uploadTraffic', () => {
  it('keeps the good samples of a mixed batch and rejects each bad one with its index and reason', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const body = await uploadOk(
      [
        sample('https://api.shop.test/users/123?x=1'),
        sample('https://api.shop.test/users/1', undefined, undefined, 1, 'FETCH'),
        sample('https://api.shop.test/users/456', '198.51.100.1'),
        sample('ftp://api.shop.test/files'),
        sample(
          'https://billing.shop.test/invoices/3f2b8c1e-5d4a-4c3b-9a8f-1e2d3c4b5a69',
          undefined,
          undefined,
          1,
          'post',
        ),
        sample('https://api.shop.test/users/7', 'not-an-ip'),
        { ...sample('/orders/77/'), requestHeaders: { Host: 'API.Shop.Test' } },
        sample('/orders/78'),
      ],
      headers,
    )

    const collections = await collectionsOf(workspace.id)
    expect(collections.map((c) => [c.hostName, c.name, c.accessType])).toEqual([
      ['api.shop.test', 'api.shop.test', null],
      ['billing.shop.test', 'billing.shop.test', null],
    ])
    const [api, billing] = collections
    expect(body).toEqual({
      accepted: 4,
      rejected: [
        { index: 1, reason: `method must be one of ${METHODS}: 'FETCH'` },
        { index: 3, reason: "url must use http or https, not 'ftp'" },
        { index: 5, reason: "ip is not an IP address: 'not-an-ip'" },
        { index: 7, reason: 'url has no host: send a full URL or a Host header' },
      ],
      apiCollectionIds: [api!.id, billing!.id],
    })

    const components = await componentsOf(workspace.id)
    expect(components.map((c) => [c.collectionId, c.method, c.url, c.accessTypes])).toEqual([
      [api!.id, 'GET', '/users/INTEGER', []],
      [billing!.id, 'POST', '/invoices/UUID', []],
      [api!.id, 'GET', '/orders/INTEGER', []],
    ])
    expect(await observationsOf(workspace.id)).toEqual({
      'GET /users/INTEGER': [observation(['198.51.100.1', '10.0.0.2']), observation(['203.0.113.7', '10.0.0.2'])],
      'POST /invoices/UUID': [observation(['203.0.113.7', '10.0.0.2'])],
      'GET /orders/INTEGER': [observation(['203.0.113.7', '10.0.0.2'])],
    })
  })

  it('keeps one collection per host across uploads, whatever the case of the host', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const first = await uploadOk([sample('https://api.shop.test/a')], headers)
    const second = await uploadOk(
      [sample('https://API.SHOP.TEST/b'), { ...sample('/c'), requestHeaders: { host: 'api.shop.test' } }],
      headers,
    )
    expect(first.apiCollectionIds).toHaveLength(1)
    expect(second).toEqual({ accepted: 2, rejected: [], apiCollectionIds: first.apiCollectionIds })
    const collections = await collectionsOf(workspace.id)
    expect(collections.map((c) => [c.id, c.hostName])).toEqual([[first.apiCollectionIds[0], 'api.shop.test']])
    expect((await componentsOf(workspace.id)).map((c) => c.url)).toEqual(['/a', '/b', '/c'])
  })

  it('makes /users/123?x=1 and /users/456 one component /users/INTEGER', async () => {
    const { workspace, headers } = await seedSignedIn('MEMBER')
    await uploadOk([sample('https://api.shop.test/users/123?x=1')], headers)
    await uploadOk([sample('https://api.shop.test/users/456')], headers)
    const components = await componentsOf(workspace.id)
    expect(components.map((c) => [c.method, c.url])).toEqual([['GET', '/users/INTEGER']])
  })

  it('keeps one observation for a sample uploaded twice, in one batch or in two', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const same = sample('https://api.shop.test/users/5', '203.0.113.7:5050', '10.0.0.2:443')
    expect(await uploadOk([same, same], headers)).toMatchObject({ accepted: 2, rejected: [] })
    expect(await uploadOk([same], headers)).toMatchObject({ accepted: 1, rejected: [] })
    expect(await observationsOf(workspace.id)).toEqual({
      'GET /users/INTEGER': [observation(['203.0.113.7', '10.0.0.2'])],
    })
    expect(await componentsOf(workspace.id)).toHaveLength(1)
  })

  it('refuses more than 100 samples with 400 and stores nothing', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const samples = Array.from({ length: 101 }, (_, i) => sample(`https://api.shop.test/e${i}`))
    await expectRpcError(await upload(samples, headers), 400, 'samples must have at most 100 items')
    expect(await collectionsOf(workspace.id)).toEqual([])
    expect(await componentsOf(workspace.id)).toEqual([])
    expect(await eventsOf(workspace.id, 'uploadTraffic')).toEqual([])

    // 100 samples are one upload (10 distinct endpoints: see the defect below).
    const hundred = Array.from({ length: 100 }, (_, i) => sample(`https://api.shop.test/e${i % 10}`, `203.0.113.${i}`))
    expect(await uploadOk(hundred, headers)).toMatchObject({ accepted: 100, rejected: [] })
    expect(await componentsOf(workspace.id)).toHaveLength(10)
  })

  it('stores an upload of 100 samples with 100 distinct endpoints', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const samples = Array.from({ length: 100 }, (_, i) => sample(`https://api.shop.test/e${i}`))
    expect(await uploadOk(samples, headers)).toMatchObject({ accepted: 100, rejected: [] })
    expect(await componentsOf(workspace.id)).toHaveLength(100)
  })

  it('stores an upload of 11 distinct endpoints (the smallest batch the defect above breaks)', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const samples = Array.from({ length: 11 }, (_, i) => sample(`https://api.shop.test/e${i}`))
    expect((await upload(samples, headers)).status).toBe(200)
    expect(await componentsOf(workspace.id)).toHaveLength(11)
  })

  it('stores an upload of 10 distinct endpoints', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const samples = Array.from({ length: 10 }, (_, i) => sample(`https://api.shop.test/e${i}`))
    expect(await uploadOk(samples, headers)).toMatchObject({ accepted: 10, rejected: [] })
    expect(await componentsOf(workspace.id)).toHaveLength(10)
  })

  it('keeps the 50 most recent distinct observations of an endpoint', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const ips = Array.from({ length: 60 }, (_, i) => `203.0.113.${i + 1}`)
    await uploadOk(
      ips.slice(0, 30).map((ip) => sample('https://api.shop.test/a', ip)),
      headers,
    )
    await uploadOk(
      ips.slice(30).map((ip) => sample('https://api.shop.test/a', ip)),
      headers,
    )
    const kept = (await observationsOf(workspace.id))['GET /a']
    expect(kept).toHaveLength(50)
    // The first upload's ten oldest went; the whole second upload stayed.
    expect(kept).toEqual(
      ips
        .slice(10)
        .map((ip) => observation([ip, '10.0.0.2']))
        .sort(),
    )
  })

  it('stores nothing and writes no audit event when every sample is bad', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const body = await uploadOk(
      [sample('not a url'), sample('https://api.shop.test/x', '10.0.0.1', '999.1.1.1')],
      headers,
    )
    expect(body).toEqual({
      accepted: 0,
      rejected: [
        { index: 0, reason: "url must be a full http(s) URL or a path starting with '/': 'not a url'" },
        { index: 1, reason: "destIp is not an IP address: '999.1.1.1'" },
      ],
      apiCollectionIds: [],
    })
    expect(await collectionsOf(workspace.id)).toEqual([])
    expect(await componentsOf(workspace.id)).toEqual([])
    expect(await eventsOf(workspace.id, 'uploadTraffic')).toEqual([])
  })

  it('writes an uploadTraffic audit event with what was accepted', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    await uploadOk(
      [
        sample('https://api.shop.test/a'),
        sample('https://api.shop.test/a', '10.0.0.9'),
        sample('bad'),
        sample('https://x.test/b'),
      ],
      headers,
    )
    expect(await eventsOf(workspace.id, 'uploadTraffic')).toEqual([
      expect.objectContaining({
        actorType: 'user',
        actorId: user.publicId,
        organizationId: workspace.organizationId,
        targetType: 'workspace',
        targetId: String(workspace.id),
        outcome: 'success',
        detail: { accepted: 3, rejected: 1, endpoints: 2 },
      }),
    ])
  })

  it('accepts a body over 64 KB (up to 1 MB) on this route only', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const padded = Array.from({ length: 10 }, (_, i) => ({
      ...sample(`https://api.shop.test/big/${i}`),
      requestHeaders: { 'user-agent': 'x'.repeat(8000) },
    }))
    const text = JSON.stringify({ samples: padded })
    expect(text.length).toBeGreaterThan(64 * 1024)
    expect(text.length).toBeLessThan(1024 * 1024)
    const res = await post('/api/uploadTraffic', text, headers)
    expect(res.status).toBe(200)
    expect(await res.json<Uploaded>()).toMatchObject({ accepted: 10, rejected: [] })
    expect((await componentsOf(workspace.id)).map((c) => c.url)).toEqual(['/big/INTEGER'])

    // The same size anywhere else is too large.
    const elsewhere = JSON.stringify({ privateCidrList: ['10.0.0.0/8'], padding: 'x'.repeat(80_000) })
    await expectRpcError(
      await post('/api/updatePrivateCidrIps', elsewhere, headers),
      413,
      'Request body must be at most 64 KB',
    )
    expect(await settingsOf(workspace.id)).toEqual({})

    // Over 1 MB is too large here too.
    const huge = Array.from({ length: 100 }, (_, i) => ({
      ...sample(`https://huge.shop.test/h${i}`),
      requestHeaders: { a: 'x'.repeat(6000), b: 'x'.repeat(6000) },
    }))
    await expectRpcError(
      await post('/api/uploadTraffic', JSON.stringify({ samples: huge }), headers),
      413,
      'Request body must be at most 1024 KB',
    )
    expect((await collectionsOf(workspace.id)).map((c) => c.hostName)).toEqual(['api.shop.test'])
  })
})

describe('uploadTraffic permissions', () => {
  const one = [sample('https://api.shop.test/a')]

  it('refuses GUEST and DEVELOPER with 403, stores nothing and records the denial', async () => {
    for (const [role, shown] of [
      ['GUEST', 'GUEST'],
      ['DEVELOPER', 'DEVELOPER'],
    ] as const) {
      const { workspace, user, headers } = await seedSignedIn(role)
      await expectRpcError(await upload(one, headers), 403, `The role '${shown}' does not have access.`)
      expect(await collectionsOf(workspace.id)).toEqual([])
      expect(await componentsOf(workspace.id)).toEqual([])
      expect(await eventsOf(workspace.id, 'uploadTraffic')).toEqual([
        expect.objectContaining({ actorId: user.publicId, outcome: 'denied' }),
      ])
    }
  })

  it('refuses NO_ACCESS and a caller without credentials', async () => {
    const { workspace, headers } = await seedSignedIn('NO_ACCESS')
    await expectRpcError(
      await upload(one, headers),
      403,
      'You do not have access to this product. Please ask Admin to grant access or navigate to accessible product',
    )
    expect((await upload(one, {})).status).toBe(401)
    expect(await collectionsOf(workspace.id)).toEqual([])
  })

  it('accepts MEMBER, THREAT_ENGINEER and THREAT_VIEWER', async () => {
    for (const role of ['MEMBER', 'THREAT_ENGINEER', 'THREAT_VIEWER']) {
      const { workspace, headers } = await seedSignedIn(role)
      expect(await uploadOk(one, headers)).toMatchObject({ accepted: 1, rejected: [] })
      expect((await collectionsOf(workspace.id)).map((c) => c.hostName)).toEqual(['api.shop.test'])
    }
  })

  it('refuses a CICD token and accepts BURP and EXTERNAL_API tokens', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const cicd = await createToken(headers, 'CICD')
    await expectRpcError(await upload(one, cicd), 403, 'CICD tokens cannot upload traffic')
    expect(await collectionsOf(workspace.id)).toEqual([])

    const burp = await createToken(headers, 'BURP')
    expect(await uploadOk([sample('https://burp.shop.test/a')], burp)).toMatchObject({ accepted: 1 })
    const external = await createToken(headers, 'EXTERNAL_API')
    expect(await uploadOk([sample('https://ext.shop.test/a')], external)).toMatchObject({ accepted: 1 })
    expect((await collectionsOf(workspace.id)).map((c) => c.hostName)).toEqual(['burp.shop.test', 'ext.shop.test'])
  })

  it("refuses a GUEST's BURP token: the token cannot do more than its owner", async () => {
    const { workspace, user } = await seedSignedIn('GUEST')
    const burp = await seedApiToken(workspace.id, { userId: user.id }, 'BURP')
    await expectRpcError(await upload(one, burp.headers), 403, "The role 'GUEST' does not have access.")
    expect(await collectionsOf(workspace.id)).toEqual([])
  })
})

describe('POST /api/updatePrivateCidrIps and /api/updatePartnerIps', () => {
  it('normalises the entries (network address, trimmed, lower case, duplicates once) and accepts IPv6', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    expect(
      await setPrivate(['10.1.2.3/8', ' 172.16.0.0/12 ', 'FD00::1/8', '10.0.0.0/8', '192.168.1.1/32'], headers),
    ).toEqual({ privateCidrList: ['10.0.0.0/8', '172.16.0.0/12', 'fd00::/8', '192.168.1.1/32'] })
    expect(
      await setPartners(['198.51.100.20', '2001:DB8:0::20', '::ffff:203.0.113.5', '198.51.100.20'], headers),
    ).toEqual({ partnerIpList: ['198.51.100.20', '2001:db8::20', '203.0.113.5'] })
    expect(await settingsOf(workspace.id)).toEqual({
      privateCidrList: ['10.0.0.0/8', '172.16.0.0/12', 'fd00::/8', '192.168.1.1/32'],
      partnerIpList: ['198.51.100.20', '2001:db8::20', '203.0.113.5'],
    })
  })

  it('setting one list leaves the other as it was; [] clears a list', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await setPrivate(['10.0.0.0/8'], headers)
    await setPartners(['198.51.100.20'], headers)
    await setPrivate(['192.168.0.0/16'], headers)
    expect(await settingsOf(workspace.id)).toEqual({
      privateCidrList: ['192.168.0.0/16'],
      partnerIpList: ['198.51.100.20'],
    })
    await setPartners([], headers)
    expect(await settingsOf(workspace.id)).toEqual({ privateCidrList: ['192.168.0.0/16'], partnerIpList: [] })
    expect(await setPrivate([], headers)).toEqual({ privateCidrList: [] })
    expect(await settingsOf(workspace.id)).toEqual({ privateCidrList: [], partnerIpList: [] })
  })

  it('refuses a MEMBER with 403 and leaves the lists unchanged', async () => {
    const { workspace, headers: admin } = await seedSignedIn('ADMIN')
    await setPrivate(['10.0.0.0/8'], admin)
    await setPartners(['198.51.100.20'], admin)
    const member = await signIn(await seedUser(workspace.id, 'MEMBER'), workspace.id)
    const refusal = "The role 'SECURITY ENGINEER' does not have access."
    await expectRpcError(await post('/api/updatePrivateCidrIps', { privateCidrList: [] }, member), 403, refusal)
    await expectRpcError(await post('/api/updatePartnerIps', { partnerIpList: ['203.0.113.1'] }, member), 403, refusal)
    expect(await settingsOf(workspace.id)).toEqual({
      privateCidrList: ['10.0.0.0/8'],
      partnerIpList: ['198.51.100.20'],
    })
    expect(await eventsOf(workspace.id, 'setAccessTypeSettings')).toEqual([
      expect.objectContaining({ outcome: 'success' }),
      expect.objectContaining({ outcome: 'success' }),
      expect.objectContaining({ outcome: 'denied' }),
      expect.objectContaining({ outcome: 'denied' }),
    ])
  })

  it('refuses BURP and CICD tokens even of an admin', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const burp = await createToken(headers, 'BURP')
    const cicd = await createToken(headers, 'CICD')
    await expectRpcError(
      await post('/api/updatePrivateCidrIps', { privateCidrList: ['10.0.0.0/8'] }, burp),
      403,
      'BURP tokens cannot set access type settings',
    )
    await expectRpcError(
      await post('/api/updatePartnerIps', { partnerIpList: ['198.51.100.20'] }, cicd),
      403,
      'CICD tokens cannot set access type settings',
    )
    expect(await settingsOf(workspace.id)).toEqual({})
  })

  it('answers 400 naming the invalid entry and changes nothing', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await setPrivate(['10.0.0.0/8'], headers)
    await setPartners(['198.51.100.20'], headers)
    for (const entry of ['10.0.0.0', '10.0.0.0/33', '127.1/8', 'fe80::1%eth0/64', 'fd00::/129', 'ten/8', '']) {
      await expectRpcError(
        await post('/api/updatePrivateCidrIps', { privateCidrList: ['172.16.0.0/12', entry] }, headers),
        400,
        `Invalid CIDR detected: '${entry}'. ${CIDR_HINT}`,
      )
    }
    for (const entry of ['10.0.0.0/8', '203.0.113.256', '0x7f.0.0.1', 'example.com']) {
      await expectRpcError(
        await post('/api/updatePartnerIps', { partnerIpList: ['203.0.113.1', entry] }, headers),
        400,
        `Invalid IP detected: '${entry}'. ${IP_HINT}`,
      )
    }
    expect(await settingsOf(workspace.id)).toEqual({
      privateCidrList: ['10.0.0.0/8'],
      partnerIpList: ['198.51.100.20'],
    })
    expect(await eventsOf(workspace.id, 'setAccessTypeSettings')).toHaveLength(2)
  })

  it('writes a setAccessTypeSettings audit event for each change, with the list as stored', async () => {
    const { workspace, user, headers } = await seedSignedIn('ADMIN')
    await setPrivate(['10.1.2.3/8'], headers)
    await setPartners(['2001:DB8::20'], headers)
    await setPrivate([], headers)
    const events = await eventsOf(workspace.id, 'setAccessTypeSettings')
    expect(events.map((e) => [e.actorId, e.outcome, e.targetType, e.targetId, e.detail])).toEqual([
      [user.publicId, 'success', 'workspace', String(workspace.id), { privateCidrList: ['10.0.0.0/8'] }],
      [user.publicId, 'success', 'workspace', String(workspace.id), { partnerIpList: ['2001:db8::20'] }],
      [user.publicId, 'success', 'workspace', String(workspace.id), { privateCidrList: [] }],
    ])
  })
})

describe('applyAccessType, end to end', () => {
  const HOST = 'https://shop.test'
  const traffic = [
    sample(`${HOST}/public`, '203.0.113.7', '10.0.0.2', 1),
    sample(`${HOST}/webhooks/out`, '10.0.0.5', '203.0.113.9', 2, 'POST'),
    sample(`${HOST}/partner`, '198.51.100.20', '10.0.0.2', 1),
    sample(`${HOST}/internal`, '10.0.0.5', '10.0.0.6', 1),
    sample(`${HOST}/v6/internal`, 'fd00::5', '[fd00::6]:443', 1),
    sample(`${HOST}/v6/partner`, '2001:db8::20', 'fd00::6', 1),
    sample(`${HOST}/v6/public`, '2001:db8::99', 'fd00::6', 1),
    sample(`${HOST}/mixed/1`, '10.0.0.7', '10.0.0.8', 1),
    sample(`${HOST}/mixed/2`, '203.0.113.8', '10.0.0.8', 1),
    {
      ...sample(`${HOST}/forwarded`, '10.0.0.1', '10.0.0.2', 1),
      requestHeaders: { 'X-Forwarded-For': '203.0.113.50, 10.0.0.9' },
    },
    sample(`${HOST}/unknown`, '', 'null', 1),
  ]
  const expected = {
    'GET /public': ['PUBLIC'],
    'POST /webhooks/out': ['THIRD_PARTY'],
    'GET /partner': ['PARTNER'],
    'GET /internal': ['PRIVATE'],
    'GET /v6/internal': ['PRIVATE'],
    'GET /v6/partner': ['PARTNER'],
    'GET /v6/public': ['PUBLIC'],
    'GET /mixed/INTEGER': ['PUBLIC', 'PRIVATE'],
    'GET /forwarded': ['PUBLIC'],
    'GET /unknown': [],
  }

  it('classifies each endpoint from its traffic and the lists', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    await setPrivate(['10.0.0.0/8', 'fd00::/8'], headers)
    await setPartners(['198.51.100.20', '2001:db8::20'], headers)
    const { apiCollectionIds } = await uploadOk(traffic, headers)
    const [collectionId] = apiCollectionIds

    const job = await runJob('/api/applyAccessType', headers)
    expect(job.type).toBe('applyAccessType')
    expect(job.result).toEqual({ components: 10, changed: 9, pages: 1, slowestPageMs: expect.any(Number) })
    expect(await accessTypesIn(collectionId!, headers)).toEqual(expected)

    // Run again: nothing changes.
    expect((await runJob('/api/applyAccessType', headers)).result).toMatchObject({ components: 10, changed: 0 })
    expect(await accessTypesIn(collectionId!, headers)).toEqual(expected)
  })

  it('refuses MEMBER and DEVELOPER with 403 and starts no job', async () => {
    const { workspace, headers: admin } = await seedSignedIn('ADMIN')
    const member = await signIn(await seedUser(workspace.id, 'MEMBER'), workspace.id)
    await expectRpcError(
      await post('/api/applyAccessType', {}, member),
      403,
      "The role 'SECURITY ENGINEER' does not have access.",
    )
    const developer = await signIn(await seedUser(workspace.id, 'DEVELOPER'), workspace.id)
    await expectRpcError(
      await post('/api/applyAccessType', {}, developer),
      403,
      "The role 'DEVELOPER' does not have access.",
    )
    expect(await db.select().from(jobs).where(eq(jobs.workspaceId, workspace.id))).toEqual([])
    expect((await post('/api/applyAccessType', {}, admin)).status).toBe(200)
  })

  it('with an empty private list succeeds, says it skipped and leaves earlier results unchanged', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await setPrivate(['10.0.0.0/8'], headers)
    const [collectionId] = (
      await uploadOk([sample(`${HOST}/a`, '10.0.0.1', '10.0.0.2'), sample(`${HOST}/b`, '203.0.113.1')], headers)
    ).apiCollectionIds
    await runJob('/api/applyAccessType', headers)
    const before = { 'GET /a': ['PRIVATE'], 'GET /b': ['PUBLIC'] }
    expect(await accessTypesIn(collectionId!, headers)).toEqual(before)

    expect(await setPrivate([], headers)).toEqual({ privateCidrList: [] })
    await uploadOk([sample(`${HOST}/a`, '203.0.113.2'), sample(`${HOST}/c`, '203.0.113.3')], headers)
    const skipped = await runJob('/api/applyAccessType', headers)
    expect(skipped.result).toEqual({ skipped: SKIPPED, pages: 1, slowestPageMs: expect.any(Number) })
    expect(await accessTypesIn(collectionId!, headers)).toEqual({ ...before, 'GET /c': [] })
    expect((await componentsOf(workspace.id)).map((c) => c.accessTypes)).toEqual([['PRIVATE'], ['PUBLIC'], []])

    // With the list back, the new traffic counts.
    await setPrivate(['10.0.0.0/8'], headers)
    await runJob('/api/applyAccessType', headers)
    expect(await accessTypesIn(collectionId!, headers)).toEqual({
      'GET /a': ['PUBLIC', 'PRIVATE'],
      'GET /b': ['PUBLIC'],
      'GET /c': ['PUBLIC'],
    })
  })

  it("touches only its own workspace: another tenant's components stay as they were", async () => {
    const mine = await seedSignedIn('ADMIN')
    const theirs = await seedSignedIn('ADMIN')
    await setPrivate(['10.0.0.0/8'], mine.headers)
    await setPrivate(['10.0.0.0/8'], theirs.headers)
    await uploadOk([sample(`${HOST}/mine`, '203.0.113.1')], mine.headers)
    await uploadOk(
      [sample(`${HOST}/theirs`, '203.0.113.1'), sample(`${HOST}/theirs/private`, '10.0.0.1', '10.0.0.2')],
      theirs.headers,
    )
    const job = await runJob('/api/applyAccessType', mine.headers)
    expect(job.workspaceId).toBe(mine.workspace.id)
    expect(job.result).toMatchObject({ components: 1, changed: 1 })
    expect((await componentsOf(mine.workspace.id)).map((c) => c.accessTypes)).toEqual([['PUBLIC']])
    expect((await componentsOf(theirs.workspace.id)).map((c) => c.accessTypes)).toEqual([[], []])
  })

  it('classifies a workspace with more than one page of components', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    await setPrivate(['10.0.0.0/8'], headers)
    const total = CLASSIFY_PAGE + 10
    for (let first = 0; first < total; first += 100)
      await seedTraffic(
        workspace.id,
        Array.from({ length: Math.min(100, total - first) }, (_, i) =>
          sample(`${HOST}/p${first + i}`, i % 2 === 0 ? '203.0.113.1' : '10.0.0.1', '10.0.0.2'),
        ),
      )
    const job = await runJob('/api/applyAccessType', headers)
    expect(job.result).toEqual({ components: total, changed: total, pages: 2, slowestPageMs: expect.any(Number) })
    const types = (await componentsOf(workspace.id)).map((c) => c.accessTypes.join())
    expect(types.filter((t) => t === 'PUBLIC')).toHaveLength(total / 2)
    expect(types.filter((t) => t === 'PRIVATE')).toHaveLength(total / 2)
  })
})

describe('resetCollectionAccessTypes, end to end', () => {
  it('gives Internal to a collection with a PUBLIC component, Third party to private or third-party ones, and leaves the rest', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const other = await seedSignedIn('ADMIN')
    await setPrivate(['10.0.0.0/8'], headers)
    await setPartners(['198.51.100.20'], headers)
    const { apiCollectionIds } = await uploadOk(
      [
        sample('https://pub.test/open', '203.0.113.1'),
        sample('https://pub.test/inside', '10.0.0.1', '10.0.0.2'),
        sample('https://priv.test/a', '10.0.0.1', '10.0.0.2'),
        sample('https://priv.test/b', '10.0.0.3', '10.0.0.4'),
        sample('https://partner.test/a', '198.51.100.20'),
        sample('https://out.test/hook', '10.0.0.1', '203.0.113.9', 2),
        sample('https://dark.test/a', '', ''),
        sample('https://was.test/a', '198.51.100.20'),
      ],
      headers,
    )
    const [pub, priv, partner, out, dark, was] = apiCollectionIds
    // What an earlier computation left: kept when the components say nothing.
    await db.update(apiCollections).set({ accessType: 'Internal' }).where(eq(apiCollections.id, was!))
    await seedTraffic(other.workspace.id, [sample('https://pub.test/open', '203.0.113.1')])

    await runJob('/api/applyAccessType', headers)
    const reset = await post('/api/resetCollectionAccessTypes', {}, headers)
    expect(reset.status).toBe(200)
    const started = await reset.json<{ response: { started: boolean; message: string }; jobId: string }>()
    expect(started.response).toEqual({
      started: true,
      message:
        'Reset started in the background. This may take a few minutes. Refresh the inventory page to see updated access types.',
    })
    await vi.waitUntil(async () => (await jobRow(started.jobId))?.status === 'succeeded', {
      timeout: 10_000,
      interval: 50,
    })
    expect((await jobRow(started.jobId))?.workspaceId).toBe(workspace.id)
    expect((await jobRow(started.jobId))?.result).toEqual({
      collections: 6,
      internal: 1,
      thirdParty: 2,
      unchanged: 3,
      pages: 1,
      slowestPageMs: expect.any(Number),
    })

    // urlsCount is left out here: it is wrong (see the getAllCollections defect below).
    expect((await listCollections(headers)).map(({ urlsCount: _, ...c }) => c)).toEqual([
      { id: pub, hostName: 'pub.test', displayName: 'pub.test', accessType: 'Internal' },
      { id: priv, hostName: 'priv.test', displayName: 'priv.test', accessType: 'Third party' },
      { id: partner, hostName: 'partner.test', displayName: 'partner.test', accessType: null },
      { id: out, hostName: 'out.test', displayName: 'out.test', accessType: 'Third party' },
      { id: dark, hostName: 'dark.test', displayName: 'dark.test', accessType: null },
      { id: was, hostName: 'was.test', displayName: 'was.test', accessType: 'Internal' },
    ])
    // The other tenant's collection was not touched.
    expect((await collectionsOf(other.workspace.id)).map((c) => c.accessType)).toEqual([null])
  })

  it('needs inventory write access: a GUEST is refused and no job starts', async () => {
    const { workspace, headers } = await seedSignedIn('GUEST')
    await expectRpcError(
      await post('/api/resetCollectionAccessTypes', {}, headers),
      403,
      "The role 'GUEST' does not have access.",
    )
    expect(await db.select().from(jobs).where(eq(jobs.workspaceId, workspace.id))).toEqual([])
  })
})

describe('inventory reads: tenancy and visibility', () => {
  it('getAllCollections lists only the caller workspace collections', async () => {
    const mine = await seedSignedIn('GUEST')
    const theirs = await seedSignedIn('ADMIN')
    const a = await seedCollection(mine.workspace.id, 'a.test')
    const b = await seedCollection(mine.workspace.id, 'b.test')
    const theirA = await seedCollection(theirs.workspace.id, 'a.test')
    const secret = await seedCollection(theirs.workspace.id, 'secret.test')
    const res = await post('/api/getAllCollections', {}, mine.headers)
    expect(res.status).toBe(200)
    const body = await res.json<{ apiCollections: Collection[] }>()
    expect(Object.keys(body)).toEqual(['apiCollections'])
    expect(body.apiCollections).toEqual([
      { id: a.id, hostName: 'a.test', displayName: 'a.test', accessType: null, urlsCount: expect.any(Number) },
      { id: b.id, hostName: 'b.test', displayName: 'b.test', accessType: null, urlsCount: expect.any(Number) },
    ])
    expect((await listCollections(theirs.headers)).map((c) => c.id)).toEqual([theirA.id, secret.id])
  })

  it('getAllCollections counts each collection components in urlsCount', async () => {
    const { workspace, headers } = await seedSignedIn('GUEST')
    const a = await seedCollection(workspace.id, 'a.test')
    await seedTraffic(workspace.id, [sample('https://a.test/x'), sample('https://a.test/y/1')])
    const b = await seedCollection(workspace.id, 'b.test')
    expect((await listCollections(headers)).map((c) => [c.id, c.urlsCount])).toEqual([
      [a.id, 3],
      [b.id, 1],
    ])
  })

  it("answers 404 for another workspace's collection, and for one that does not exist", async () => {
    const mine = await seedSignedIn('ADMIN')
    const theirs = await seedSignedIn('ADMIN')
    const foreign = await seedCollection(theirs.workspace.id, 'secret.test')
    await expectRpcError(await fetchInfos(foreign.id, mine.headers), 404, 'API collection not found')
    await expectRpcError(await fetchInfos(foreign.id + 100_000, mine.headers), 404, 'API collection not found')
    expect(await accessTypesIn(foreign.id, theirs.headers)).toEqual({ 'GET /': [] })
  })

  it('refuses NO_ACCESS the reads', async () => {
    const { workspace, headers } = await seedSignedIn('NO_ACCESS')
    const collection = await seedCollection(workspace.id, 'a.test')
    const message =
      'You do not have access to this product. Please ask Admin to grant access or navigate to accessible product'
    await expectRpcError(await post('/api/getAllCollections', {}, headers), 403, message)
    await expectRpcError(await fetchInfos(collection.id, headers), 403, message)
  })

  it('shows a member whose custom role lists only collection A only A, with RBAC in the plan', async () => {
    const { org, workspace, headers: admin } = await seedSignedIn('ADMIN')
    await setPlan(org.id, { RBAC_FEATURE: true, AKTO_EXTERNAL_API: true })
    const a = await seedCollection(workspace.id, 'a.test')
    const b = await seedCollection(workspace.id, 'b.test')
    const created = await post(
      '/api/createCustomRole',
      { roleName: 'ONLY_A', baseRole: 'MEMBER', apiCollectionIds: [a.id] },
      admin,
    )
    expect(created.status).toBe(200)
    const member = await signIn(await seedUser(workspace.id, 'ONLY_A'), workspace.id)

    expect((await listCollections(member)).map((c) => [c.id, c.hostName])).toEqual([[a.id, 'a.test']])
    expect(await accessTypesIn(a.id, member)).toEqual({ 'GET /': [] })
    await expectRpcError(await fetchInfos(b.id, member), 404, 'API collection not found')

    // Their API token sees no more than they do.
    const token = await createToken(member, 'EXTERNAL_API')
    expect((await listCollections(token)).map((c) => c.id)).toEqual([a.id])
    await expectRpcError(await fetchInfos(b.id, token), 404, 'API collection not found')

    // Uploading could land in B (or make new collections): a limited role may not, and B's id stays unknown.
    const upload = await post('/api/uploadTraffic', { samples: [sample('https://b.test/secret')] }, member)
    await expectRpcError(
      upload,
      403,
      'Your role sees only some API collections: uploading traffic takes a role that sees them all',
    )
    expect((await componentsOf(workspace.id)).map((c) => c.url)).toEqual(['/', '/'])

    // The admin sees both.
    expect((await listCollections(admin)).map((c) => c.id)).toEqual([a.id, b.id])

    // Without RBAC in the plan, the role's list does not restrict.
    await setPlan(org.id, { API_COLLECTIONS: true })
    expect((await listCollections(member)).map((c) => c.id)).toEqual([a.id, b.id])
    expect(await accessTypesIn(b.id, member)).toEqual({ 'GET /': [] })
  })

  it('shows a custom role with an empty collection list every collection', async () => {
    const { org, workspace, headers: admin } = await seedSignedIn('ADMIN')
    await setPlan(org.id, { RBAC_FEATURE: true })
    const a = await seedCollection(workspace.id, 'a.test')
    const b = await seedCollection(workspace.id, 'b.test')
    expect((await post('/api/createCustomRole', { roleName: 'ALL', baseRole: 'GUEST' }, admin)).status).toBe(200)
    const member = await signIn(await seedUser(workspace.id, 'ALL'), workspace.id)
    expect((await listCollections(member)).map((c) => c.id)).toEqual([a.id, b.id])
  })

  it('pages 1000 components at a time: next is the cursor, null on the last page', async () => {
    const { workspace, headers } = await seedSignedIn('ADMIN')
    const chunk = (n: number) => Array.from({ length: 100 }, (_, i) => sample(`https://big.test/c${n}/e${i}`))
    let collectionId = 0
    for (let n = 0; n < 10; n++) [collectionId] = (await seedTraffic(workspace.id, chunk(n))) as [number]

    // Exactly 1000: one page, no next.
    const exact = await fetchInfos(collectionId, headers)
    expect(exact.status).toBe(200)
    const whole = await exact.json<ApiInfos>()
    expect(whole.apiInfoList).toHaveLength(1000)
    expect(whole.next).toBeNull()

    await seedTraffic(workspace.id, chunk(10).slice(0, 100))
    const ids = (await componentsOf(workspace.id)).map((c) => c.id)
    expect(ids).toHaveLength(1100)
    const first = await (await fetchInfos(collectionId, headers)).json<ApiInfos>()
    expect(first.apiInfoList).toHaveLength(1000)
    expect(first.next).toBe(ids[999])
    expect(first.apiInfoList[0]).toEqual({
      id: { apiCollectionId: collectionId, url: '/c0/e0', method: 'GET' },
      apiAccessTypes: [],
    })
    expect(first.apiInfoList[999]?.id.url).toBe('/c9/e99')

    const rest = await (await fetchInfos(collectionId, headers, first.next!)).json<ApiInfos>()
    expect(rest.next).toBeNull()
    expect(rest.apiInfoList.map((i) => i.id.url)).toEqual(Array.from({ length: 100 }, (_, i) => `/c10/e${i}`))
    const urls = new Set([...first.apiInfoList, ...rest.apiInfoList].map((i) => i.id.url))
    expect(urls.size).toBe(1100)

    // Past the end: nothing, and no next.
    expect(await (await fetchInfos(collectionId, headers, ids[1099]!)).json<ApiInfos>()).toEqual({
      apiInfoList: [],
      next: null,
    })
  })
})

describe('POST /api/fetchJobStatus', () => {
  /** A workspace with one classified component and the finished applyAccessType job. */
  const finishedJob = async () => {
    const admin = await seedSignedIn('ADMIN')
    await setPrivate(['10.0.0.0/8'], admin.headers)
    await uploadOk([sample('https://shop.test/a')], admin.headers)
    const row = await runJob('/api/applyAccessType', admin.headers)
    return { ...admin, row }
  }

  it('gives the admin a finished job: status, attempts, result and times', async () => {
    const { headers, row } = await finishedJob()
    const res = await post('/api/fetchJobStatus', { jobId: row.id }, headers)
    expect(res.status).toBe(200)
    const { job } = await res.json<{ job: Record<string, unknown> }>()
    expect(job).toEqual({
      id: row.id,
      type: 'applyAccessType',
      status: 'succeeded',
      attempts: 1,
      lastError: null,
      result: { components: 1, changed: 1, pages: 1, slowestPageMs: row.result?.slowestPageMs },
      createdAt: row.createdAt.getTime(),
      finishedAt: row.finishedAt!.getTime(),
    })
    expect(job.finishedAt as number).toBeGreaterThanOrEqual(job.createdAt as number)
  })

  it('refuses a MEMBER of the same workspace with 403', async () => {
    const { workspace, row } = await finishedJob()
    const member = await signIn(await seedUser(workspace.id, 'MEMBER'), workspace.id)
    await expectRpcError(
      await post('/api/fetchJobStatus', { jobId: row.id }, member),
      403,
      "The role 'SECURITY ENGINEER' does not have access.",
    )
  })

  it("answers 404 for another workspace's job, a job of no workspace, and an unknown id", async () => {
    const { row } = await finishedJob()
    const stranger = await seedSignedIn('ADMIN')
    await expectRpcError(await post('/api/fetchJobStatus', { jobId: row.id }, stranger.headers), 404, 'Job not found')
    const system = prepareJob(deps(), null, 'purgeExpired')
    await system.insert
    await expectRpcError(
      await post('/api/fetchJobStatus', { jobId: system.id }, stranger.headers),
      404,
      'Job not found',
    )
    await expectRpcError(
      await post('/api/fetchJobStatus', { jobId: crypto.randomUUID() }, stranger.headers),
      404,
      'Job not found',
    )
  })

  it('answers a job of the same organization but another workspace with 404', async () => {
    const { org, row } = await finishedJob()
    const { workspace: sibling } = await seedOrganization()
    // A second workspace of the same organization, with an admin of it.
    await db.update(workspaces).set({ organizationId: org.id }).where(eq(workspaces.id, sibling.id))
    const admin = await signIn(await seedUser(sibling.id, 'ADMIN'), sibling.id)
    await expectRpcError(await post('/api/fetchJobStatus', { jobId: row.id }, admin), 404, 'Job not found')
    expect(
      await db
        .select()
        .from(jobs)
        .where(inArray(jobs.id, [row.id])),
    ).toHaveLength(1)
  })
})
