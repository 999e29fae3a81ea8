import { describe, expect, it } from 'vitest'
import type { AccessType } from '../../src/db/schema'
import {
  accessClassifier,
  collectionAccessType,
  collectionAccessTypeOf,
  type Observation,
  parseCidrList,
  parseIpList,
} from '../../src/domain/access-types'

describe('parseCidrList', () => {
  it.each([
    ['10.1.2.3/8', '10.0.0.0/8'],
    [' 192.168.1.77/24 ', '192.168.1.0/24'],
    ['198.51.100.7/32', '198.51.100.7/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['10.0.0.0/08', '10.0.0.0/8'],
    ['2001:DB8:0:0:1::1/32', '2001:db8::/32'],
    ['2001:db8::1/128', '2001:db8::1/128'],
    ['fd12:3456:789a::1/8', 'fd00::/8'],
    ['::ffff:10.1.2.3/104', '10.0.0.0/8'],
    ['::ffff:0:0/96', '0.0.0.0/0'],
    ['::ffff:0:0/80', '::/80'],
  ])('normalises %j to %j', (entry, cidr) => {
    expect(parseCidrList([entry])).toEqual({ cidrs: [cidr] })
  })

  it('drops duplicates after normalising and keeps the first order', () => {
    expect(parseCidrList(['172.16.0.0/12', '10.0.0.0/8', '10.9.9.9/8', '2001:db8::/32', '2001:DB8::1/32'])).toEqual({
      cidrs: ['172.16.0.0/12', '10.0.0.0/8', '2001:db8::/32'],
    })
  })

  it('accepts an empty list', () => {
    expect(parseCidrList([])).toEqual({ cidrs: [] })
  })

  it.each([
    [['10.0.0.0/8', ' 1.2.3.4 '], '1.2.3.4'],
    [['2001:db8::1'], '2001:db8::1'],
    [['10.0.0.0/8', ''], ''],
    [['   '], ''],
    [['10.0.0.0/33'], '10.0.0.0/33'],
    [['2001:db8::/129'], '2001:db8::/129'],
    [['10.0.0.0/'], '10.0.0.0/'],
    [['/8'], '/8'],
    [['10.0.0.0/8/8'], '10.0.0.0/8/8'],
    [['10.0.0.0/-1'], '10.0.0.0/-1'],
    [['10/8'], '10/8'],
    [['010.0.0.0/8'], '010.0.0.0/8'],
    [['256.0.0.0/8'], '256.0.0.0/8'],
    [['fe80::1%eth0/64'], 'fe80::1%eth0/64'],
    [['intranet/8'], 'intranet/8'],
    [['x/1', 'y/2'], 'x/1'],
  ])('names the first invalid entry of %j', (entries, invalid) => {
    expect(parseCidrList(entries)).toEqual({ invalid })
  })
})

describe('parseIpList', () => {
  it.each([
    [[' 1.2.3.4 '], ['1.2.3.4']],
    [['::ffff:1.2.3.4'], ['1.2.3.4']],
    [['2001:0DB8:0000:0000:0000:0000:0000:0001'], ['2001:db8::1']],
    [
      ['1.2.3.4', '2001:db8::5', '::ffff:1.2.3.4', '2001:DB8:0::5'],
      ['1.2.3.4', '2001:db8::5'],
    ],
    [[], []],
  ])('normalises %j to %j', (entries, ips) => {
    expect(parseIpList(entries)).toEqual({ ips })
  })

  it.each([
    [['1.2.3.4', '1.2.3.4/32'], '1.2.3.4/32'],
    [['1.2.3.4', ' '], ''],
    [['partner.example.com'], 'partner.example.com'],
    [['1.2.3.4:80'], '1.2.3.4:80'],
    [['1.2.3'], '1.2.3'],
    [['127.1'], '127.1'],
    [['fe80::1%eth0'], 'fe80::1%eth0'],
    [['bad', 'worse'], 'bad'],
  ])('names the first invalid entry of %j', (entries, invalid) => {
    expect(parseIpList(entries)).toEqual({ invalid })
  })
})

describe('accessClassifier', () => {
  const classify = accessClassifier({
    privateCidrList: ['10.0.0.0/8', '192.168.1.0/24', '198.51.100.7/32', 'fd00::/8', '2001:db8::1/128'],
    partnerIpList: ['1.2.3.4', '2001:db8:1::5'],
  })!
  const incoming = (...ips: string[]): Observation => ({ ips, direction: 'incoming' })
  const outgoing = (...ips: string[]): Observation => ({ ips, direction: 'outgoing' })

  it.each<[string, AccessType[]]>([
    ['10.0.0.1', ['PRIVATE']],
    ['10.255.255.255', ['PRIVATE']],
    ['11.0.0.0', ['PUBLIC']],
    ['9.255.255.255', ['PUBLIC']],
    // any CIDR of the list, not only the first
    ['192.168.1.50', ['PRIVATE']],
    ['192.168.1.0', ['PRIVATE']],
    ['192.168.1.255', ['PRIVATE']],
    ['192.168.2.0', ['PUBLIC']],
    ['192.168.0.255', ['PUBLIC']],
    ['198.51.100.7', ['PRIVATE']],
    ['198.51.100.8', ['PUBLIC']],
    ['198.51.100.6', ['PUBLIC']],
    ['fd12:3456::1', ['PRIVATE']],
    ['fd00::', ['PRIVATE']],
    ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', ['PRIVATE']],
    ['fe00::', ['PUBLIC']],
    ['fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', ['PUBLIC']],
    ['2001:db8::1', ['PRIVATE']],
    ['2001:db8::2', ['PUBLIC']],
    ['2001:db8::', ['PUBLIC']],
    ['::ffff:10.1.2.3', ['PRIVATE']],
    ['::ffff:a01:203', ['PRIVATE']],
    ['::ffff:11.0.0.0', ['PUBLIC']],
    ['1.2.3.4', ['PARTNER']],
    ['::ffff:1.2.3.4', ['PARTNER']],
    ['2001:db8:1::5', ['PARTNER']],
    ['2001:0db8:0001:0000:0000:0000:0000:0005', ['PARTNER']],
    // a partner that is a substring of another address must not match it
    ['11.2.3.45', ['PUBLIC']],
    ['1.2.3.40', ['PUBLIC']],
    ['2001:db8:1::50', ['PUBLIC']],
    ['0.0.0.0', []],
    ['::', []],
    ['not-an-ip', []],
    ['', []],
  ])('classifies an incoming request from %j as %j', (ip, expected) => {
    expect(classify([incoming(ip)])).toEqual(expected)
  })

  it.each<[string, Observation[], AccessType[]]>([
    ['outgoing to a public address', [outgoing('8.8.8.8')], ['THIRD_PARTY']],
    ['outgoing to a private address', [outgoing('10.0.0.9')], ['PRIVATE']],
    ['outgoing to a partner', [outgoing('1.2.3.4')], ['PARTNER']],
    ['one private and one public in one observation', [incoming('10.0.0.1', '8.8.8.8')], ['PUBLIC']],
    ['one public and one private in one observation', [incoming('8.8.8.8', '10.0.0.1')], ['PUBLIC']],
    ['a partner behind a private proxy', [incoming('10.0.0.1', '1.2.3.4')], ['PARTNER']],
    ['a partner and then a public address', [incoming('1.2.3.4', '8.8.8.8')], ['PUBLIC']],
    ['private and public observations', [incoming('10.0.0.1'), incoming('8.8.8.8')], ['PUBLIC', 'PRIVATE']],
    [
      'all four, in ACCESS_TYPES order',
      [outgoing('8.8.8.8'), incoming('1.2.3.4'), incoming('10.0.0.1'), incoming('8.8.4.4'), incoming('10.0.0.2')],
      ['PUBLIC', 'PRIVATE', 'PARTNER', 'THIRD_PARTY'],
    ],
    ['no observations', [], []],
    ['an observation without IPs', [incoming()], []],
    ['only unspecified addresses', [incoming('0.0.0.0', '::')], []],
    ['an unspecified address before a public one', [incoming('0.0.0.0', '8.8.8.8')], ['PUBLIC']],
    ['an invalid candidate before a private one', [incoming('garbage', '10.0.0.1')], ['PRIVATE']],
    ['an empty observation beside a private one', [incoming(), incoming('10.0.0.1')], ['PRIVATE']],
  ])('%s', (_, observations, expected) => {
    expect(classify(observations)).toEqual(expected)
  })

  it.each([
    ['an empty private list', { privateCidrList: [], partnerIpList: ['1.2.3.4'] }],
    ['a private list with no valid entry', { privateCidrList: ['nonsense', '1.2.3.4'], partnerIpList: [] }],
  ])('is null for %s', (_, settings) => {
    expect(accessClassifier(settings)).toBeNull()
  })

  it.each<[string, string, AccessType[]]>([
    ['::/0', '10.0.0.1', ['PUBLIC']],
    ['::/0', '::ffff:10.0.0.1', ['PUBLIC']],
    ['::/0', '2001:db8::9', ['PRIVATE']],
    ['0.0.0.0/0', '2001:db8::9', ['PUBLIC']],
    ['0.0.0.0/0', '8.8.8.8', ['PRIVATE']],
    ['::ffff:10.0.0.0/104', '10.1.1.1', ['PRIVATE']],
  ])('with private CIDR %j classifies %j as %j', (cidr, ip, expected) => {
    expect(accessClassifier({ privateCidrList: [cidr], partnerIpList: [] })!([incoming(ip)])).toEqual(expected)
  })

  it('ignores a stored partner entry that is not an address', () => {
    const withBadPartner = accessClassifier({ privateCidrList: ['10.0.0.0/8'], partnerIpList: ['bad', '1.2.3.4'] })!
    expect(withBadPartner([incoming('1.2.3.4')])).toEqual(['PARTNER'])
  })
})

describe('collectionAccessType', () => {
  it.each<[AccessType[][], ReturnType<typeof collectionAccessType>]>([
    [[['PUBLIC']], 'Internal'],
    [[['PRIVATE'], ['PUBLIC']], 'Internal'],
    [[['PARTNER'], ['THIRD_PARTY', 'PUBLIC']], 'Internal'],
    [[['PRIVATE']], 'Third party'],
    [[['THIRD_PARTY']], 'Third party'],
    [[['PARTNER'], ['PRIVATE', 'PARTNER']], 'Third party'],
    [[['PARTNER']], null],
    [[[]], null],
    [[], null],
  ])('turns %j into %j', (componentTypes, expected) => {
    expect(collectionAccessType(componentTypes)).toBe(expected)
  })

  it.each([
    [{ public: true, privateOrThirdParty: true }, 'Internal'],
    [{ public: true, privateOrThirdParty: false }, 'Internal'],
    [{ public: false, privateOrThirdParty: true }, 'Third party'],
    [{ public: false, privateOrThirdParty: false }, null],
  ])('turns accumulated flags %j into %j', (flags, expected) => {
    expect(collectionAccessTypeOf(flags)).toBe(expected)
  })
})
