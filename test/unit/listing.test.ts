import { describe, expect, it } from 'vitest'
import { decodeMarker, encodeMarker, markerPage } from '../../src/domain/listing'
import { ACCOUNT_LIST } from '../../src/domain/users'
import { jsonApiListQuery } from '../../src/http/query'

const { parse } = jsonApiListQuery('iam:accounts', ACCOUNT_LIST)

describe('JSON:API list query', () => {
  it('defaults to the first page of 1000, uncounted and unsorted', () => {
    expect(parse({})).toEqual({ filters: [], sort: [], page: { number: 1, size: 1000 }, count: false, fields: null })
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
    expect(q.fields).toEqual(['email', 'name'])
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
  it('round-trip and refuse forgeries', () => {
    expect(decodeMarker(encodeMarker(42))).toBe(42)
    expect(decodeMarker(encodeMarker('ABC'))).toBe('ABC')
    expect(decodeMarker(encodeMarker(null))).toBeNull()
    expect(() => decodeMarker('not-a-marker')).toThrow(/not one this service issued/)
    expect(() => decodeMarker(btoa('{"after":{}}'))).toThrow()
  })

  it('page limit + 1 rows into items and the marker of the next page', () => {
    const rows = [{ id: 1 }, { id: 2 }, { id: 3 }]
    const first = markerPage(rows, 2, (r) => r.id, null)
    expect(first.items).toEqual([{ id: 1 }, { id: 2 }])
    expect(decodeMarker(first.marker!)).toBe(2)
    expect(markerPage(rows.slice(2), 2, (r) => r.id, 2)).toEqual({ items: [{ id: 3 }] })
  })

  it('with limit 0 return no items and a marker where the page started', () => {
    const page = markerPage([{ id: 5 }], 0, (r) => r.id, 4)
    expect(page.items).toEqual([])
    expect(decodeMarker(page.marker!)).toBe(4)
    expect(markerPage([], 0, (r: { id: number }) => r.id, 4)).toEqual({ items: [] })
  })
})
