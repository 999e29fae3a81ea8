import { and, asc, eq, gt, inArray, lte, sql } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { chunksFor } from '../db/client'
import { type AccessType, apiCollections, apiComponents, apiSamples } from '../db/schema'
import { type AccessSettings, accessClassifier, collectionAccessTypeOf, type Observation } from './access-types'
import { accessSettingsOf } from './inventory'
import type { JobRun } from './jobs'

/** Components classified per page: their samples and the CPU to classify them fit one invocation. */
export const CLASSIFY_PAGE = 1000
/** Components aggregated per page of the collection reset (one SQL aggregate, no rows in memory). */
export const AGGREGATE_PAGE = 10_000

type ApplyProgress = { after: number; settings: AccessSettings; components: number; changed: number }

/**
 * Rows whose new value is the same share one UPDATE (there are at most 16 sets of access types),
 * in chunks that leave room for the value, the update time and a workspace id.
 */
const updatesByValue = <V>(
  rows: { id: number; value: V }[],
  update: (value: V, ids: number[]) => BatchItem<'sqlite'>,
) => {
  const byValue = new Map<string, { value: V; ids: number[] }>()
  for (const row of rows) {
    const key = JSON.stringify(row.value)
    const group = byValue.get(key) ?? { value: row.value, ids: [] }
    group.ids.push(row.id)
    byValue.set(key, group)
  }
  return [...byValue.values()].flatMap((g) => chunksFor(g.ids, 1, 3).map((ids) => update(g.value, ids)))
}

/**
 * Classifies a page of the workspace's components from their observed traffic, with the settings
 * read when the job started. Components without samples are left alone; so is every component when
 * no private CIDR list is set (nothing could be told private).
 */
export const applyAccessTypesStep: JobRun = async (deps, job) => {
  const workspaceId = job.workspaceId
  if (workspaceId === null) throw new Error('applyAccessType needs a workspace')
  const progress = (job.progress as ApplyProgress | null) ?? {
    after: 0,
    settings: await accessSettingsOf(deps, workspaceId),
    components: 0,
    changed: 0,
  }
  const classify = accessClassifier(progress.settings)
  if (!classify) return { result: { skipped: 'No private CIDR list is set: access types were left as they were' } }

  const page = await deps.db
    .select({ id: apiComponents.id, accessTypes: apiComponents.accessTypes })
    .from(apiComponents)
    .where(and(eq(apiComponents.workspaceId, workspaceId), gt(apiComponents.id, progress.after)))
    .orderBy(asc(apiComponents.id))
    .limit(CLASSIFY_PAGE)
  const last = page.at(-1)?.id ?? progress.after
  const samples = await deps.db
    .select({ componentId: apiSamples.componentId, observation: apiSamples.observation })
    .from(apiSamples)
    .where(
      inArray(
        apiSamples.componentId,
        deps.db
          .select({ id: apiComponents.id })
          .from(apiComponents)
          .where(
            and(
              eq(apiComponents.workspaceId, workspaceId),
              gt(apiComponents.id, progress.after),
              lte(apiComponents.id, last),
            ),
          ),
      ),
    )
  const observed = new Map<number, Observation[]>()
  for (const s of samples) {
    const list = observed.get(s.componentId) ?? []
    list.push(JSON.parse(s.observation) as Observation)
    observed.set(s.componentId, list)
  }
  const changes: { id: number; value: AccessType[] }[] = []
  for (const component of page) {
    const observations = observed.get(component.id)
    if (!observations) continue
    const value = classify(observations)
    if (JSON.stringify(value) !== JSON.stringify(component.accessTypes)) changes.push({ id: component.id, value })
  }
  const writes = updatesByValue(changes, (value, ids) =>
    deps.db.update(apiComponents).set({ accessTypes: value }).where(inArray(apiComponents.id, ids)),
  )
  const next = {
    ...progress,
    after: last,
    components: progress.components + page.length,
    changed: progress.changed + changes.length,
  }
  if (page.length === CLASSIFY_PAGE) return { writes, progress: next }
  return { writes, result: { components: next.components, changed: next.changed } }
}

type ResetProgress = { after: number; collections: Record<string, { public: boolean; privateOrThirdParty: boolean }> }

/**
 * Sets each collection's access type from its components (see `collectionAccessTypeOf`), reading
 * the components a page at a time; a collection whose components say nothing keeps its value.
 */
export const resetCollectionAccessTypesStep: JobRun = async (deps, job) => {
  const workspaceId = job.workspaceId
  if (workspaceId === null) throw new Error('resetCollectionAccessTypes needs a workspace')
  const progress = (job.progress as ResetProgress | null) ?? { after: 0, collections: {} }
  const end = sql`coalesce((SELECT ${apiComponents.id} FROM ${apiComponents} WHERE ${apiComponents.workspaceId} = ${workspaceId} AND ${apiComponents.id} > ${progress.after} ORDER BY ${apiComponents.id} LIMIT 1 OFFSET ${AGGREGATE_PAGE - 1}), 9223372036854775807)`
  const has = (type: AccessType) => sql`instr(${apiComponents.accessTypes}, ${`"${type}"`}) > 0`
  const groups = await deps.db
    .select({
      collectionId: apiComponents.collectionId,
      last: sql<number>`max(${apiComponents.id})`,
      count: sql<number>`count(*)`,
      public: sql<number>`max(${has('PUBLIC')})`,
      privateOrThirdParty: sql<number>`max(${has('PRIVATE')} OR ${has('THIRD_PARTY')})`,
    })
    .from(apiComponents)
    .where(
      and(
        eq(apiComponents.workspaceId, workspaceId),
        gt(apiComponents.id, progress.after),
        sql`${apiComponents.id} <= ${end}`,
      ),
    )
    .groupBy(apiComponents.collectionId)
  const collections = { ...progress.collections }
  for (const g of groups) {
    const seen = collections[g.collectionId] ?? { public: false, privateOrThirdParty: false }
    collections[g.collectionId] = {
      public: seen.public || g.public === 1,
      privateOrThirdParty: seen.privateOrThirdParty || g.privateOrThirdParty === 1,
    }
  }
  const counted = groups.reduce((n, g) => n + g.count, 0)
  if (counted === AGGREGATE_PAGE)
    return { progress: { after: Math.max(...groups.map((g) => g.last)), collections } satisfies ResetProgress }

  const settled = Object.entries(collections).flatMap(([id, flags]) => {
    const value = collectionAccessTypeOf(flags)
    return value ? [{ id: Number(id), value }] : []
  })
  const writes = updatesByValue(settled, (value, ids) =>
    deps.db
      .update(apiCollections)
      .set({ accessType: value })
      .where(and(eq(apiCollections.workspaceId, workspaceId), inArray(apiCollections.id, ids))),
  )
  const count = (value: string) => settled.filter((s) => s.value === value).length
  return {
    writes,
    result: {
      collections: Object.keys(collections).length,
      internal: count('Internal'),
      thirdParty: count('Third party'),
      unchanged: Object.keys(collections).length - settled.length,
    },
  }
}
