import { describe, expect, it } from 'vitest'
import { ACCOUNT_LIST } from '../../src/domain/accounts'
import { markerPage, readMarker, signMarker } from '../../src/domain/listing'
import { jsonApiListQuery } from '../../src/http/query'

const { parse } = jsonApiListQuery('iam:accounts', ACCOUNT_LIST)

describe('JSON:API list query', () => {
  it('defaults to the first page of 1000, uncounted and unsorted', () => {
    expect(parse({})).toEqual({
      filters: [],
      sort: [],
      page: { number: 1, size: 1000 },
      count: false,
      fields: {},
      included: [],
    })
  })

  it('parses paging, sort, count, sparse fields and typed filters', () => {
    const q = parse({
      'page[number]': ['3'],
      'page[size]': ['25'],
      sort: ['-created_at,email'],
      count: ['yes'],
      'fields[iam:accounts]': ['email,name'],
      'filter[enabled]': ['f'],
      'filter[created_at__gte]': ['2026-01-01T00:00:00Z'],
      'filter[email__in][]': ['a@x.io', 'b@x.io'],
      'filter[name]': ['Ann', 'Bob'],
    })
    expect(q.page).toEqual({ number: 3, size: 25 })
    expect(q.sort).toEqual([
      { field: 'created_at', desc: true },
      { field: 'email', desc: false },
    ])
    expect(q.count).toBe(true)
    expect(q.fields).toEqual({ 'iam:accounts': ['email', 'name'] })
    expect(q.filters).toEqual([
      { field: 'enabled', op: 'eq', value: false },
      { field: 'created_at', op: 'gte', value: new Date('2026-01-01T00:00:00Z') },
      { field: 'email', op: 'in', value: ['a@x.io', 'b@x.io'] },
      { field: 'name', op: 'eq', value: ['Ann', 'Bob'] },
    ])
  })

  it('rejects what it does not know, naming the parameter', () => {
    const issue = (raw: Record<string, string[]>) => {
      try {
        parse(raw)
      } catch (err) {
        return (err as { issues: { path: string[]; message: string }[] }).issues[0]
      }
      throw new Error('expected a rejection')
    }
    expect(issue({ 'filter[email__gte]': ['x'] })?.path).toEqual(['filter[email__gte]'])
    expect(issue({ unknown: ['1'] })?.message).toMatch(/not a known parameter/)
    expect(issue({ 'page[size]': ['0'] })?.message).toBe('must be between 1 and 1000')
    expect(issue({ 'page[size]': ['2', '3'] })?.message).toBe('must be given once')
    expect(issue({ 'filter[enabled]': ['true', 'maybe'] })?.message).toBe('must be a boolean')
  })
})

describe('markers', () => {
  const secret = 'unit-test-secret-of-some-length-0123456789'
  const rows = [1, 2, 3, 4, 5].map((id) => ({ id }))
  const fetchAfter = async (after: number | string | null, take: number) =>
    rows.filter((r) => after === null || r.id > Number(after)).slice(0, take)

  it('round-trip, and refuse forgeries, garbage and markers of another list', async () => {
    for (const key of [42, 'ABC', null])
      expect(await readMarker(secret, 'users', await signMarker(secret, 'users', key))).toBe(key)
    const forged = `${btoa(JSON.stringify({ list: 'users', after: 1 })).replaceAll('=', '')}.AAAA`
    for (const bad of [
      'not-a-marker',
      forged,
      await signMarker(secret, 'teams', 1),
      await signMarker('other-secret', 'users', 1),
    ])
      await expect(readMarker(secret, 'users', bad)).rejects.toThrow(/not one this list issued/)
  })

  it('page limit + 1 rows into items and the marker of the next page; the last page has none', async () => {
    const first = await markerPage(secret, 'l', { limit: 2 }, fetchAfter, (r) => r.id)
    expect(first.items).toEqual([{ id: 1 }, { id: 2 }])
    const second = await markerPage(secret, 'l', { limit: 2, marker: first.marker }, fetchAfter, (r) => r.id)
    expect(second.items).toEqual([{ id: 3 }, { id: 4 }])
    const last = await markerPage(secret, 'l', { limit: 2, marker: second.marker }, fetchAfter, (r) => r.id)
    expect(last).toEqual({ items: [{ id: 5 }] })
    expect('marker' in last).toBe(false)
  })

  it('with limit 0 return no items and, while rows follow, a marker where the page started', async () => {
    const first = await markerPage(secret, 'l', { limit: 2 }, fetchAfter, (r) => r.id)
    const zero = await markerPage(secret, 'l', { limit: 0, marker: first.marker }, fetchAfter, (r) => r.id)
    expect(zero.items).toEqual([])
    expect(await readMarker(secret, 'l', zero.marker ?? '')).toBe(2)
    const end = await markerPage(
      secret,
      'l',
      { limit: 0 },
      async () => [],
      (r: { id: number }) => r.id,
    )
    expect(end).toEqual({ items: [] })
  })
})
