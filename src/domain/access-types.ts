import ipaddr from 'ipaddr.js'
import { ACCESS_TYPES, type AccessType } from '../db/schema'

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6
type Cidr = [IpAddress, number]

/** One traffic sample reduced to its candidate IPs (normalised addresses, no ports) and direction. */
export type Observation = { ips: string[]; direction: 'incoming' | 'outgoing' }

export type AccessSettings = { privateCidrList: string[]; partnerIpList: string[] }

export type CollectionAccessType = 'Internal' | 'Third party'

/**
 * A single IPv4 or IPv6 address, or null. IPv4 must be four decimal parts: ipaddr.js also accepts
 * inet_aton forms (`127.1`, `0x7f.0.0.1`, `010.0.0.1` as octal) that nobody means in a list or a log.
 * Zone ids are refused: `fe80::1%eth0` names an interface of one host, not an address to classify.
 * An IPv4-mapped IPv6 address is its IPv4 address, so it matches IPv4 CIDRs and partner IPs.
 */
export const parseIpAddress = (text: string): IpAddress | null => {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text)
  if (!ipaddr.IPv6.isValid(text)) return null
  const address = ipaddr.IPv6.parse(text)
  if (address.zoneId !== undefined) return null
  return address.isIPv4MappedAddress() ? address.toIPv4Address() : address
}

/** Dotted decimal for IPv4, RFC 5952 compact lower case for IPv6: one spelling per address. */
export const formatIpAddress = (address: IpAddress): string =>
  address instanceof ipaddr.IPv6 ? address.toRFC5952String() : address.toString()

const isUnspecified = (address: IpAddress): boolean => {
  const text = formatIpAddress(address)
  return text === '0.0.0.0' || text === '::'
}

/** `address/prefix` reduced to its network address; a mapped IPv6 network of /96 or longer becomes IPv4. */
const parseCidr = (text: string): Cidr | null => {
  const [addressText, prefixText, ...rest] = text.split('/')
  if (addressText === undefined || prefixText === undefined || rest.length > 0) return null
  if (!parseIpAddress(addressText)) return null
  if (ipaddr.IPv4.isValidCIDRFourPartDecimal(text)) {
    return [ipaddr.IPv4.networkAddressFromCIDR(text), ipaddr.IPv4.parseCIDR(text)[1]]
  }
  if (!ipaddr.IPv6.isValidCIDR(text)) return null
  const network = ipaddr.IPv6.networkAddressFromCIDR(text)
  const prefix = ipaddr.IPv6.parseCIDR(text)[1]
  return network.isIPv4MappedAddress() && prefix >= 96 ? [network.toIPv4Address(), prefix - 96] : [network, prefix]
}

const formatCidr = ([network, prefix]: Cidr): string => `${formatIpAddress(network)}/${prefix}`

const isInCidr = (address: IpAddress, [network, prefix]: Cidr): boolean =>
  address.kind() === network.kind() && address.match(network, prefix)

/** Parses every entry (trimmed) or names the first one that is not valid; duplicates dropped, order kept. */
const parseEach = <T>(
  entries: string[],
  parse: (text: string) => T | null,
  format: (value: T) => string,
): { values: T[] } | { invalid: string } => {
  const byText = new Map<string, T>()
  for (const entry of entries) {
    const text = entry.trim()
    const value = text === '' ? null : parse(text)
    if (value === null) return { invalid: text }
    const key = format(value)
    if (!byText.has(key)) byText.set(key, value)
  }
  return { values: [...byText.values()] }
}

/** The private CIDR list: each entry `address/prefix`, returned as `network/prefix`. */
export const parseCidrList = (entries: string[]): { cidrs: string[] } | { invalid: string } => {
  const parsed = parseEach(entries, parseCidr, formatCidr)
  return 'invalid' in parsed ? parsed : { cidrs: parsed.values.map(formatCidr) }
}

/** The partner IP list: single addresses, normalised. */
export const parseIpList = (entries: string[]): { ips: string[] } | { invalid: string } => {
  const parsed = parseEach(entries, parseIpAddress, formatIpAddress)
  return 'invalid' in parsed ? parsed : { ips: parsed.values.map(formatIpAddress) }
}

/** Settings hold lists already validated on save; an entry that no longer parses is ignored, not fatal. */
const validOnly = <T>(entries: string[], parse: (text: string) => T | null): T[] =>
  entries.map((entry) => parse(entry.trim())).filter((value): value is T => value !== null)

/**
 * Akto's rule, with the first-CIDR-only match, the substring partner match and the IPv4-only
 * parsing fixed. Null when there is no private CIDR list: the caller then leaves results alone.
 */
export const accessClassifier = (settings: AccessSettings): ((observations: Observation[]) => AccessType[]) | null => {
  const privateCidrs = validOnly(settings.privateCidrList, parseCidr)
  if (privateCidrs.length === 0) return null
  const partnerIps = new Set(validOnly(settings.partnerIpList, parseIpAddress).map(formatIpAddress))

  const isPrivate = (address: IpAddress) => privateCidrs.some((cidr) => isInCidr(address, cidr))

  const classifyObservation = ({ ips, direction }: Observation): AccessType | null => {
    let sawAddress = false
    let sawPartner = false
    for (const text of ips) {
      const address = parseIpAddress(text)
      if (!address || isUnspecified(address)) continue
      sawAddress = true
      if (isPrivate(address)) continue
      if (partnerIps.has(formatIpAddress(address))) {
        sawPartner = true
        continue
      }
      return direction === 'incoming' ? 'PUBLIC' : 'THIRD_PARTY'
    }
    if (!sawAddress) return null
    return sawPartner ? 'PARTNER' : 'PRIVATE'
  }

  return (observations) => {
    const seen = new Set(observations.map(classifyObservation))
    return ACCESS_TYPES.filter((type) => seen.has(type))
  }
}

export const hasPublic = (types: readonly AccessType[]): boolean => types.includes('PUBLIC')

export const hasPrivateOrThirdParty = (types: readonly AccessType[]): boolean =>
  types.includes('PRIVATE') || types.includes('THIRD_PARTY')

/** For a caller that reads components page by page and accumulates the two flags. */
export const collectionAccessTypeOf = (flags: {
  public: boolean
  privateOrThirdParty: boolean
}): CollectionAccessType | null => {
  if (flags.public) return 'Internal'
  return flags.privateOrThirdParty ? 'Third party' : null
}

/**
 * The collection rule exactly as the original has it, PUBLIC mapping to 'Internal' included:
 * null leaves the collection's access type unchanged.
 */
export const collectionAccessType = (componentTypes: AccessType[][]): CollectionAccessType | null =>
  collectionAccessTypeOf({
    public: componentTypes.some(hasPublic),
    privateOrThirdParty: componentTypes.some(hasPrivateOrThirdParty),
  })
