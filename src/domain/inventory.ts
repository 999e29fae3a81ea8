import { and, asc, count, eq, gt, inArray, or, type SQL, sql } from 'drizzle-orm'
import { chunksFor } from '../db/client'
import { apiCollections, apiComponents, apiSamples, customRoles, workspaces } from '../db/schema'
import { type AccessSettings, parseCidrList, parseIpList } from './access-types'
import { authorizeIn } from './authorize'
import { commit } from './commit'
import type { Deps } from './context'
import { forbidden, invalid, notFound } from './errors'
import type { Principal, WorkspaceAccess } from './principal'
import { hasFeature, isBuiltInRole } from './roles'
import { normaliseSample, type TrafficSample } from './traffic'

/** At most this many samples per upload: one upload is one D1 batch. */
export const MAX_SAMPLES_PER_UPLOAD = 100
/** The distinct observations kept per component, the most recent first. */
export const KEPT_OBSERVATIONS = 50
/** Components per page of `listComponentAccess`. */
export const COMPONENTS_PER_PAGE = 1000

export type Rejection = { index: number; reason: string }

/**
 * Records a batch of traffic: one collection per host, one component per method and normalised
 * path, each with the distinct observations (candidate IPs, direction) it was seen with. Bad
 * samples are rejected one by one; the good ones are kept, all in one batch.
 */
export const recordTraffic = async (deps: Deps, p: Principal, samples: TrafficSample[]) => {
  const ws = await authorizeIn(deps, p, 'uploadTraffic')
  if (samples.length > MAX_SAMPLES_PER_UPLOAD)
    throw invalid(`Send at most ${MAX_SAMPLES_PER_UPLOAD} samples per upload; split the rest into further uploads`)
  const rejected: Rejection[] = []
  const endpoints = new Map<string, { host: string; method: string; path: string }>()
  const observations = new Map<string, { host: string; method: string; path: string; observation: string }>()
  samples.forEach((sample, index) => {
    const found = normaliseSample(sample)
    if (!found.ok) {
      rejected.push({ index, reason: found.reason })
      return
    }
    const { host, method, path } = found
    const endpoint = JSON.stringify([host, method, path])
    const observation = JSON.stringify(found.observation)
    endpoints.set(endpoint, { host, method, path })
    observations.set(`${endpoint} ${observation}`, { host, method, path, observation })
  })
  const accepted = samples.length - rejected.length
  if (accepted === 0) return { accepted, rejected, apiCollectionIds: [] as number[] }

  const now = deps.now()
  const hosts = [...new Set([...endpoints.values()].map((e) => e.host))]
  const collectionOf = (host: string) =>
    sql`(SELECT ${apiCollections.id} FROM ${apiCollections} WHERE ${apiCollections.workspaceId} = ${ws.id} AND ${apiCollections.hostName} = ${host})`
  const componentOf = (e: { host: string; method: string; path: string }) =>
    sql`(SELECT ${apiComponents.id} FROM ${apiComponents} WHERE ${apiComponents.collectionId} = ${collectionOf(e.host)} AND ${apiComponents.method} = ${e.method} AND ${apiComponents.url} = ${e.path})`

  const writes = [
    ...chunksFor(hosts, 5).map((chunk) =>
      deps.db
        .insert(apiCollections)
        .values(
          chunk.map((host) => ({ workspaceId: ws.id, name: host, hostName: host, createdAt: now, updatedAt: now })),
        )
        .onConflictDoNothing(),
    ),
    // Nine parameters a row, and two for the update on conflict (lastSeenAt, updatedAt).
    ...chunksFor([...endpoints.values()], 9, 2).map((chunk) =>
      deps.db
        .insert(apiComponents)
        .values(
          chunk.map((e) => ({
            workspaceId: ws.id,
            collectionId: collectionOf(e.host),
            method: e.method,
            url: e.path,
            accessTypes: [],
            lastSeenAt: now,
            createdAt: now,
            updatedAt: now,
          })),
        )
        .onConflictDoUpdate({
          target: [apiComponents.collectionId, apiComponents.method, apiComponents.url],
          set: { lastSeenAt: now },
        }),
    ),
    ...chunksFor([...observations.values()], 6, 1).map((chunk) =>
      deps.db
        .insert(apiSamples)
        .values(chunk.map((o) => ({ componentId: componentOf(o), observation: o.observation, lastSeenAt: now })))
        .onConflictDoUpdate({ target: [apiSamples.componentId, apiSamples.observation], set: { lastSeenAt: now } }),
    ),
    // The components touched by this upload are those last seen now; each keeps its most recent observations.
    deps.db.delete(apiSamples).where(sql`${apiSamples.id} IN (
      SELECT id FROM (
        SELECT s.id AS id, row_number() OVER (PARTITION BY s.component_id ORDER BY s.last_seen_at DESC, s.id DESC) AS n
        FROM ${apiSamples} s JOIN ${apiComponents} c ON c.id = s.component_id
        WHERE c.workspace_id = ${ws.id} AND c.last_seen_at = ${now.getTime()}
      ) WHERE n > ${KEPT_OBSERVATIONS})`),
    ...chunksFor(hosts, 1, 1).map((chunk) =>
      deps.db
        .select({ id: apiCollections.id })
        .from(apiCollections)
        .where(and(eq(apiCollections.workspaceId, ws.id), inArray(apiCollections.hostName, chunk))),
    ),
  ]
  const limit = collectionLimit(ws)
  const results = await commit(deps, p, {
    // Traffic lands in any collection, or makes new ones: a role limited to some may not upload.
    checks: limit
      ? [
          {
            holds: sql`json_array_length(${limit}) = 0`,
            reason: 'sees-every-collection',
            refusal: forbidden(
              'Your role sees only some API collections: uploading traffic takes a role that sees them all',
            ),
          },
        ]
      : [],
    event: {
      action: 'uploadTraffic',
      targetType: 'workspace',
      targetId: ws.id,
      detail: { accepted, rejected: rejected.length, endpoints: endpoints.size },
    },
    writes,
  })
  const apiCollectionIds = (results.slice(-chunksFor(hosts, 1, 1).length) as { id: number }[][])
    .flat()
    .map((c) => c.id)
    .sort((a, b) => a - b)
  return { accepted, rejected, apiCollectionIds }
}

/**
 * The collections the caller's custom role is limited to, as a JSON array (empty: all of them);
 * none for ADMIN, for a built-in role, or where the plan has no RBAC.
 */
const collectionLimit = (ws: WorkspaceAccess): SQL | undefined => {
  if (ws.role === 'ADMIN' || isBuiltInRole(ws.roleName) || !hasFeature(ws.entitlements, 'RBAC_FEATURE'))
    return undefined
  return sql`coalesce((SELECT ${customRoles.apiCollectionIds} FROM ${customRoles} WHERE ${customRoles.workspaceId} = ${ws.id} AND ${customRoles.name} = ${ws.roleName}), '[]')`
}

/** The collections the caller may see: see `collectionLimit`. */
const visibleCollections = (ws: WorkspaceAccess): SQL | undefined => {
  const limit = collectionLimit(ws)
  return (
    limit &&
    or(sql`json_array_length(${limit}) = 0`, sql`${apiCollections.id} IN (SELECT value FROM json_each(${limit}))`)
  )
}

/** The workspace's collections with how many components each holds. */
export const listCollections = async (deps: Deps, p: Principal) => {
  const ws = await authorizeIn(deps, p, 'readInventory')
  return deps.db
    .select({
      id: apiCollections.id,
      hostName: apiCollections.hostName,
      displayName: apiCollections.name,
      accessType: apiCollections.accessType,
      urlsCount: count(apiComponents.id),
    })
    .from(apiCollections)
    .leftJoin(apiComponents, eq(apiComponents.collectionId, apiCollections.id))
    .where(and(eq(apiCollections.workspaceId, ws.id), visibleCollections(ws)))
    .groupBy(apiCollections.id)
    .orderBy(asc(apiCollections.id))
}

/**
 * The access types of a collection's components, a page at a time in id order: `after` is the
 * `next` of the previous page. Another workspace's collection, or one the caller may not see, is not found.
 */
export const listComponentAccess = async (deps: Deps, p: Principal, collectionId: number, after = 0) => {
  const ws = await authorizeIn(deps, p, 'readInventory')
  const [collection] = await deps.db
    .select({ id: apiCollections.id })
    .from(apiCollections)
    .where(and(eq(apiCollections.id, collectionId), eq(apiCollections.workspaceId, ws.id), visibleCollections(ws)))
  if (!collection) throw notFound('API collection not found')
  const rows = await deps.db
    .select({
      id: apiComponents.id,
      method: apiComponents.method,
      url: apiComponents.url,
      accessTypes: apiComponents.accessTypes,
    })
    .from(apiComponents)
    .where(and(eq(apiComponents.collectionId, collectionId), gt(apiComponents.id, after)))
    .orderBy(asc(apiComponents.id))
    .limit(COMPONENTS_PER_PAGE + 1)
  const more = rows.length > COMPONENTS_PER_PAGE
  const components = more ? rows.slice(0, COMPONENTS_PER_PAGE) : rows
  return { components, next: more ? (components.at(-1)?.id ?? null) : null }
}

/** The workspace's access-type settings; missing lists are empty. */
export const accessSettingsOf = async (deps: Deps, workspaceId: number): Promise<AccessSettings> => {
  const [ws] = await deps.db
    .select({ settings: workspaces.settings })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId))
  return { privateCidrList: ws?.settings.privateCidrList ?? [], partnerIpList: ws?.settings.partnerIpList ?? [] }
}

const MAX_LIST_ENTRIES = 1000

/**
 * Replaces one list of the settings with what `parse` makes of the entries, leaving the other
 * list as it is (a concurrent change to it stays).
 */
const setSettingsList = async (
  deps: Deps,
  p: Principal,
  key: 'privateCidrList' | 'partnerIpList',
  entries: string[],
  parse: (entries: string[]) => string[],
) => {
  const ws = await authorizeIn(deps, p, 'setAccessTypeSettings')
  if (entries.length > MAX_LIST_ENTRIES) throw invalid(`${key} holds at most ${MAX_LIST_ENTRIES} entries`)
  const list = parse(entries)
  await commit(deps, p, {
    event: { action: 'setAccessTypeSettings', targetType: 'workspace', targetId: ws.id, detail: { [key]: list } },
    writes: [
      deps.db
        .update(workspaces)
        .set({ settings: sql`json_set(${workspaces.settings}, ${`$.${key}`}, json(${JSON.stringify(list)}))` })
        .where(eq(workspaces.id, ws.id)),
    ],
  })
  return list
}

/** Sets the CIDRs whose addresses count as private. Every entry must be an IPv4 or IPv6 CIDR. */
export const setPrivateCidrs = (deps: Deps, p: Principal, entries: string[]) =>
  setSettingsList(deps, p, 'privateCidrList', entries, (list) => {
    const parsed = parseCidrList(list)
    if ('invalid' in parsed)
      throw invalid(
        `Invalid CIDR detected: '${parsed.invalid}'. Write an address with its prefix, like 10.0.0.0/8 or fd00::/8 (one address: /32 or /128)`,
      )
    return parsed.cidrs
  })

/** Sets the partners' addresses. Every entry must be an IPv4 or IPv6 address. */
export const setPartnerIps = (deps: Deps, p: Principal, entries: string[]) =>
  setSettingsList(deps, p, 'partnerIpList', entries, (list) => {
    const parsed = parseIpList(list)
    if ('invalid' in parsed)
      throw invalid(
        `Invalid IP detected: '${parsed.invalid}'. Write one IPv4 or IPv6 address per entry, like 203.0.113.7`,
      )
    return parsed.ips
  })
