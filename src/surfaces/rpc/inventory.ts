import { z } from '@hono/zod-openapi'
import {
  listCollections,
  listComponentAccess,
  MAX_SAMPLES_PER_UPLOAD,
  recordTraffic,
  setPartnerIps,
  setPrivateCidrs,
} from '../../domain/inventory'
import { principalOf } from '../../http/authenticate'
import { createRouter } from '../../http/router'
import { rpcAction } from './action'

const AccessType = z.enum(['PUBLIC', 'PRIVATE', 'PARTNER', 'THIRD_PARTY'])

const Sample = z
  .object({
    method: z.string().max(16),
    url: z.string().max(4096).openapi({ description: 'An absolute URL, or a path with a Host request header' }),
    requestHeaders: z.record(z.string().max(256), z.string().max(8192)).optional(),
    ip: z.string().max(64).openapi({ description: 'The source address (a port is stripped); empty when unknown' }),
    destIp: z.string().max(64).openapi({ description: 'The destination address; empty when unknown' }),
    direction: z
      .union([z.literal(1), z.literal(2), z.literal('1'), z.literal('2')])
      .transform((d) => Number(d) as 1 | 2)
      .openapi({ description: '1: incoming, 2: outgoing' }),
  })
  .openapi('TrafficSample')

/** A traffic upload carries up to 100 samples with their request headers. */
export const TRAFFIC_BODY_LIMITS = { '/api/uploadTraffic': 1024 * 1024 }

const Entries = z.array(z.string().max(64)).max(1000)

export const inventory = createRouter()
  .openapi(
    rpcAction({
      name: 'uploadTraffic',
      tag: 'Inventory',
      summary: 'Record a batch of traffic samples: collections per host, components per endpoint',
      description: `Roles with inventory write access; BURP and EXTERNAL_API tokens. At most ${MAX_SAMPLES_PER_UPLOAD} samples per call. Each bad sample is rejected with its index and reason; the good ones of the same batch are kept. Paths are normalised (query dropped, numeric segments INTEGER, UUIDs UUID).`,
      body: z.object({ samples: z.array(Sample).max(MAX_SAMPLES_PER_UPLOAD) }).openapi({
        example: {
          samples: [
            {
              method: 'GET',
              url: 'https://api.example.com/users/42',
              requestHeaders: { 'x-forwarded-for': '203.0.113.7' },
              ip: '10.0.0.5',
              destIp: '10.0.1.9:443',
              direction: 1,
            },
          ],
        },
      }),
      response: z
        .object({
          accepted: z.number().int(),
          rejected: z.array(z.object({ index: z.number().int(), reason: z.string() })),
          apiCollectionIds: z.array(z.number().int()),
        })
        .openapi('TrafficRecorded'),
      example: { accepted: 1, rejected: [], apiCollectionIds: [1] },
      answers: 'Samples recorded',
      errors: [403],
    }),
    async (c) => c.json(await recordTraffic(c.var.deps, principalOf(c), c.req.valid('json').samples), 200),
  )
  .openapi(
    rpcAction({
      name: 'updatePrivateCidrIps',
      tag: 'Inventory',
      summary: 'Set the CIDRs whose addresses count as private',
      description:
        'ADMIN only. IPv4 and IPv6 CIDRs; an invalid entry is a 400 that names it. Applied by the next applyAccessType job.',
      body: z
        .object({ privateCidrList: Entries })
        .openapi({ example: { privateCidrList: ['10.0.0.0/8', '172.16.0.0/12', 'fd00::/8'] } }),
      response: z.object({ privateCidrList: z.array(z.string()) }).openapi('PrivateCidrs'),
      example: { privateCidrList: ['10.0.0.0/8', '172.16.0.0/12', 'fd00::/8'] },
      answers: 'Private CIDRs saved',
      errors: [403],
    }),
    async (c) => {
      const { privateCidrList } = c.req.valid('json')
      return c.json({ privateCidrList: await setPrivateCidrs(c.var.deps, principalOf(c), privateCidrList) }, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'updatePartnerIps',
      tag: 'Inventory',
      summary: "Set the partners' IP addresses",
      description:
        'ADMIN only. IPv4 and IPv6 addresses, compared as addresses; an invalid entry is a 400 that names it.',
      body: z
        .object({ partnerIpList: Entries })
        .openapi({ example: { partnerIpList: ['198.51.100.20', '2001:db8::20'] } }),
      response: z.object({ partnerIpList: z.array(z.string()) }).openapi('PartnerIps'),
      example: { partnerIpList: ['198.51.100.20', '2001:db8::20'] },
      answers: 'Partner IPs saved',
      errors: [403],
    }),
    async (c) => {
      const { partnerIpList } = c.req.valid('json')
      return c.json({ partnerIpList: await setPartnerIps(c.var.deps, principalOf(c), partnerIpList) }, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'getAllCollections',
      tag: 'Inventory',
      summary: "The workspace's API collections, one per host",
      description:
        'Roles with inventory read access. A custom role that lists collections sees only those (with RBAC in the plan).',
      response: z
        .object({
          apiCollections: z.array(
            z.object({
              id: z.number().int(),
              hostName: z.string(),
              displayName: z.string(),
              accessType: z.string().nullable(),
              urlsCount: z.number().int(),
            }),
          ),
        })
        .openapi('ApiCollections'),
      example: {
        apiCollections: [
          { id: 1, hostName: 'api.example.com', displayName: 'api.example.com', accessType: 'Internal', urlsCount: 12 },
        ],
      },
      answers: 'Collections',
      errors: [403],
    }),
    async (c) => c.json({ apiCollections: await listCollections(c.var.deps, principalOf(c)) }, 200),
  )
  .openapi(
    rpcAction({
      name: 'fetchApiInfosForCollection',
      tag: 'Inventory',
      summary: "The access types of a collection's endpoints",
      description:
        'Roles with inventory read access. 1,000 endpoints per answer: pass `next` back as `after` for the following ones (null: no more).',
      body: z
        .object({
          apiCollectionId: z.number().int(),
          after: z.number().int().min(0).optional().openapi({ description: 'The `next` of the previous answer' }),
        })
        .openapi({ example: { apiCollectionId: 1 } }),
      response: z
        .object({
          apiInfoList: z.array(
            z.object({
              id: z.object({ apiCollectionId: z.number().int(), url: z.string(), method: z.string() }),
              apiAccessTypes: z.array(AccessType),
            }),
          ),
          next: z.number().int().nullable(),
        })
        .openapi('ApiInfos'),
      example: {
        apiInfoList: [{ id: { apiCollectionId: 1, url: '/users/INTEGER', method: 'GET' }, apiAccessTypes: ['PUBLIC'] }],
        next: null,
      },
      answers: 'Endpoints with their access types',
      errors: [403, 404],
    }),
    async (c) => {
      const { apiCollectionId, after } = c.req.valid('json')
      const page = await listComponentAccess(c.var.deps, principalOf(c), apiCollectionId, after)
      const apiInfoList = page.components.map((e) => ({
        id: { apiCollectionId, url: e.url, method: e.method },
        apiAccessTypes: e.accessTypes,
      }))
      return c.json({ apiInfoList, next: page.next }, 200)
    },
  )
