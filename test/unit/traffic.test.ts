import { describe, expect, it } from 'vitest'
import { accessClassifier } from '../../src/domain/access-types'
import { normaliseIp, normaliseSample, type TrafficSample } from '../../src/domain/traffic'

const sample = (overrides: Partial<TrafficSample> = {}): TrafficSample => ({
  method: 'GET',
  url: 'https://api.example.com/users',
  ip: '',
  destIp: '',
  direction: 1,
  ...overrides,
})

const accepted = (overrides: Partial<TrafficSample>) => {
  const result = normaliseSample(sample(overrides))
  if (!result.ok) throw new Error(`expected the sample to be accepted: ${result.reason}`)
  return result
}

describe('normaliseIp', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    [' 1.2.3.4 ', '1.2.3.4'],
    ['1.2.3.4:8080', '1.2.3.4'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
    // ends like a port, but a bare IPv6 address is never cut
    ['2001:db8::8080', '2001:db8::8080'],
    ['::1', '::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:0102:0304', '1.2.3.4'],
    ['[::ffff:1.2.3.4]:80', '1.2.3.4'],
  ])('normalises %j to %j', (text, ip) => {
    expect(normaliseIp(text)).toBe(ip)
  })

  it.each([
    'fe80::1%eth0',
    '[fe80::1%eth0]:80',
    'unknown',
    '',
    '1.2.3.4:',
    '1.2.3.4:http',
    '1.2.3.4:123456',
    '[2001:db8::1]:',
    '127.1',
    '1.2.3.4.5',
    '2001:db8::1/64',
  ])('refuses %j', (text) => {
    expect(normaliseIp(text)).toBeNull()
  })
})

describe('normaliseSample: host and path', () => {
  it.each([
    [
      'https://api.example.com/users/123/orders/550e8400-e29b-41d4-a716-446655440000',
      'api.example.com',
      '/users/INTEGER/orders/UUID',
    ],
    ['https://API.Example.com:443/a?x=1#frag', 'api.example.com', '/a'],
    ['http://api.example.com:80/', 'api.example.com', '/'],
    ['http://api.example.com:8080/a/', 'api.example.com:8080', '/a'],
    ['https://api.example.com', 'api.example.com', '/'],
    ['https://api.example.com//a///b//', 'api.example.com', '/a/b'],
    ['https://api.example.com/v2/item-42/42x/007', 'api.example.com', '/v2/item-42/42x/INTEGER'],
    ['https://api.example.com/files/550E8400-E29B-41D4-A716-446655440000', 'api.example.com', '/files/UUID'],
    [
      'https://api.example.com/550e8400e29b41d4a716446655440000',
      'api.example.com',
      '/550e8400e29b41d4a716446655440000',
    ],
    ['https://api.example.com/a%20b/%7e/a b', 'api.example.com', '/a%20b/%7e/a%20b'],
    ['https://api.example.com/a/../b/./c', 'api.example.com', '/b/c'],
  ])('reads %j as host %j and path %j', (url, host, path) => {
    expect(accepted({ url })).toMatchObject({ host, path })
  })

  it.each([
    ['/users/7?page=2', { Host: 'API.example.com' }, 'api.example.com', '/users/INTEGER'],
    ['/users/', { host: 'api.example.com:80' }, 'api.example.com', '/users'],
    ['/', { HOST: 'api.example.com:8443' }, 'api.example.com:8443', '/'],
    // a path that looks protocol-relative stays a path
    ['//evil.example/x', { host: 'api.example.com' }, 'api.example.com', '/evil.example/x'],
  ])('reads path %j with headers %j as host %j and path %j', (url, requestHeaders, host, path) => {
    expect(accepted({ url, requestHeaders })).toMatchObject({ host, path })
  })

  it('keeps the host of a full URL over the Host header', () => {
    expect(accepted({ url: 'https://api.example.com/a', requestHeaders: { host: 'other.example' } }).host).toBe(
      'api.example.com',
    )
  })

  it('accepts a path of exactly 2048 characters', () => {
    expect(accepted({ url: `https://api.example.com/${'a'.repeat(2047)}` }).path).toHaveLength(2048)
  })

  it.each([
    ['lower case', 'post', 'POST'],
    ['mixed case', 'Patch', 'PATCH'],
  ])('upper-cases a %s method', (_, method, expected) => {
    expect(accepted({ method }).method).toBe(expected)
  })
})

describe('normaliseSample: rejections', () => {
  it.each<[string, Partial<TrafficSample>, string]>([
    [
      'an unknown method',
      { method: 'FETCH' },
      "method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE, CONNECT: 'FETCH'",
    ],
    [
      'an empty method',
      { method: '' },
      "method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE, CONNECT: ''",
    ],
    ['another scheme', { url: 'ftp://files.example.com/a' }, "url must use http or https, not 'ftp'"],
    ['a host without scheme', { url: 'api.example.com:8080/a' }, "url must use http or https, not 'api.example.com'"],
    ['a relative path', { url: 'users/1' }, "url must be a full http(s) URL or a path starting with '/': 'users/1'"],
    ['a path and no Host header', { url: '/users' }, 'url has no host: send a full URL or a Host header'],
    [
      'a path and a blank Host header',
      { url: '/users', requestHeaders: { host: '  ' } },
      'url has no host: send a full URL or a Host header',
    ],
    [
      'a path and a Host header that is more than a host',
      { url: '/users', requestHeaders: { host: 'api.example.com/admin' } },
      "Host header is not a host name: 'api.example.com/admin'",
    ],
    [
      'a path longer than 2048 characters',
      { url: `https://api.example.com/${'a'.repeat(2048)}` },
      'path is 2049 characters long; at most 2048 are allowed',
    ],
    ['an ip that is not an address', { ip: 'abc' }, "ip is not an IP address: 'abc'"],
    ['an ip with a zone id', { ip: 'fe80::1%eth0' }, "ip is not an IP address: 'fe80::1%eth0'"],
    ['a destIp that is not an address', { destIp: '1.2.3' }, "destIp is not an IP address: '1.2.3'"],
  ])('refuses %s', (_, overrides, reason) => {
    expect(normaliseSample(sample(overrides))).toEqual({ ok: false, reason })
  })
})

describe('normaliseSample: observation', () => {
  it('takes client IP headers in their fixed order, then ip, then destIp', () => {
    const requestHeaders = {
      'Client-IP': '7.7.7.7',
      'X-Real-IP': '2.2.2.2',
      'X-Forwarded-For': 'unknown, 1.1.1.1:5000 , [2001:db8::1]:443',
      'True-Client-IP': '4.4.4.4',
      'X-Cluster-Client-IP': '3.3.3.3',
      'x-original-forwarded-for': '5.5.5.5',
      'X-Client-IP': 'garbage',
      'X-Unrelated': '9.9.9.9',
    }
    expect(accepted({ requestHeaders, ip: '8.8.8.8:1234', destIp: '::ffff:10.0.0.1' }).observation).toEqual({
      ips: ['1.1.1.1', '2001:db8::1', '2.2.2.2', '3.3.3.3', '4.4.4.4', '5.5.5.5', '7.7.7.7', '8.8.8.8', '10.0.0.1'],
      direction: 'incoming',
    })
  })

  it('keeps the first of repeated addresses', () => {
    const requestHeaders = { 'x-forwarded-for': '1.1.1.1, 2.2.2.2, 1.1.1.1' }
    expect(accepted({ requestHeaders, ip: '2.2.2.2' }).observation.ips).toEqual(['1.1.1.1', '2.2.2.2'])
  })

  it.each([
    ['', ''],
    ['null', 'null'],
    [' ', ' null '],
  ])('skips ip %j and destIp %j', (ip, destIp) => {
    expect(accepted({ ip, destIp }).observation.ips).toEqual([])
  })

  it.each([
    [1, 'incoming'],
    [2, 'outgoing'],
  ] as const)('reads direction %j as %j', (direction, expected) => {
    expect(accepted({ direction }).observation.direction).toBe(expected)
  })

  it('feeds the classifier: a public client behind a private proxy is PUBLIC', () => {
    const classify = accessClassifier({ privateCidrList: ['10.0.0.0/8'], partnerIpList: [] })!
    const { observation } = accepted({ requestHeaders: { 'x-forwarded-for': '8.8.8.8' }, ip: '10.0.0.5' })
    expect(classify([observation])).toEqual(['PUBLIC'])
  })
})
