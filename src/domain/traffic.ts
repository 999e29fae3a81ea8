import { formatIpAddress, type Observation, parseIpAddress } from './access-types'

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const
export type HttpMethod = (typeof HTTP_METHODS)[number]

/** One uploaded traffic sample, its types already checked by the schema. */
export type TrafficSample = {
  method: string
  url: string
  requestHeaders?: Record<string, string>
  ip: string
  destIp: string
  /** 1: a request the service received; 2: a request it sent. */
  direction: 1 | 2
}

export type NormalisedSample =
  | { ok: true; host: string; method: HttpMethod; path: string; observation: Observation }
  | { ok: false; reason: string }

/** Where proxies put the original client address, most trusted first. */
const CLIENT_IP_HEADERS = [
  'x-forwarded-for',
  'x-real-ip',
  'x-cluster-client-ip',
  'true-client-ip',
  'x-original-forwarded-for',
  'x-client-ip',
  'client-ip',
] as const

const MAX_PATH_LENGTH = 2048
const INTEGER_SEGMENT = /^\d+$/
const UUID_SEGMENT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** Characters that would make a Host header more than a host (and port) once put in a URL. */
const NOT_IN_HOST = /[\s/?#@\\]/
/** Parses a bare path as a path: `//x/y` must stay a path, not become host `x`. */
const PATH_ORIGIN = 'http://path.invalid'

/** A value as it appears in a reason: quoted, and cut so a huge value cannot swamp the message. */
const quoted = (text: string): string => `'${text.length > 100 ? `${text.slice(0, 100)}…` : text}'`

/** `1.2.3.4:8080` and `[2001:db8::1]:443` lose their port; a bare IPv6 address (several colons) is left whole. */
const withoutPort = (text: string): string => {
  const bracketed = /^\[([^\]]*)\](?::\d{1,5})?$/.exec(text)
  if (bracketed) return bracketed[1] ?? ''
  const hostAndPort = /^([^:]*):\d{1,5}$/.exec(text)
  return hostAndPort?.[1] ?? text
}

/** One address as a log or header writes it, normalised; null when it is not a single IP address. */
export const normaliseIp = (text: string): string | null => {
  const address = parseIpAddress(withoutPort(text.trim()))
  return address ? formatIpAddress(address) : null
}

const parseMethod = (method: string): HttpMethod | null => {
  const upper = method.toUpperCase()
  return HTTP_METHODS.find((known) => known === upper) ?? null
}

/** Header names compare case-insensitively; a name sent twice in different cases gives both values. */
const headerValues = (headers: Record<string, string>, name: string): string[] =>
  Object.entries(headers)
    .filter(([key]) => key.toLowerCase() === name)
    .map(([, value]) => value)

/** The host as `new URL(...).host` gives it: lower case, default port dropped; null when not a host. */
const hostOfHeader = (value: string): string | null => {
  if (value === '' || NOT_IN_HOST.test(value)) return null
  return URL.parse(`http://${value}`)?.host || null
}

const locate = (
  url: string,
  headers: Record<string, string>,
): { host: string; pathname: string } | { reason: string } => {
  if (url.startsWith('/')) {
    const hostHeader = headerValues(headers, 'host')[0]?.trim()
    if (!hostHeader) return { reason: 'url has no host: send a full URL or a Host header' }
    const host = hostOfHeader(hostHeader)
    if (!host) return { reason: `Host header is not a host name: ${quoted(hostHeader)}` }
    const parsed = URL.parse(PATH_ORIGIN + url)
    if (!parsed) return { reason: `url is not a valid path: ${quoted(url)}` }
    return { host, pathname: parsed.pathname }
  }
  const parsed = URL.parse(url)
  if (!parsed) return { reason: `url must be a full http(s) URL or a path starting with '/': ${quoted(url)}` }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { reason: `url must use http or https, not ${quoted(parsed.protocol.slice(0, -1))}` }
  }
  return { host: parsed.host, pathname: parsed.pathname }
}

const templateSegment = (segment: string): string => {
  if (INTEGER_SEGMENT.test(segment)) return 'INTEGER'
  return UUID_SEGMENT.test(segment) ? 'UUID' : segment
}

/** Empty segments go, which collapses repeated slashes and drops a trailing one. */
const templatePath = (pathname: string): string =>
  `/${pathname
    .split('/')
    .filter((segment) => segment !== '')
    .map(templateSegment)
    .join('/')}`

/** Proxies write `unknown` or garbage into these headers; such values are skipped, not fatal. */
const headerIps = (headers: Record<string, string>): string[] =>
  CLIENT_IP_HEADERS.flatMap((name) => headerValues(headers, name))
    .flatMap((value) => value.split(','))
    .map(normaliseIp)
    .filter((ip): ip is string => ip !== null)

const isAbsent = (text: string): boolean => {
  const trimmed = text.trim()
  return trimmed === '' || trimmed === 'null'
}

export const normaliseSample = (sample: TrafficSample): NormalisedSample => {
  const method = parseMethod(sample.method)
  if (!method) {
    return { ok: false, reason: `method must be one of ${HTTP_METHODS.join(', ')}: ${quoted(sample.method)}` }
  }

  const headers = sample.requestHeaders ?? {}
  const location = locate(sample.url, headers)
  if ('reason' in location) return { ok: false, reason: location.reason }
  const path = templatePath(location.pathname)
  if (path.length > MAX_PATH_LENGTH) {
    return { ok: false, reason: `path is ${path.length} characters long; at most ${MAX_PATH_LENGTH} are allowed` }
  }

  const ips = headerIps(headers)
  for (const field of ['ip', 'destIp'] as const) {
    const text = sample[field]
    if (isAbsent(text)) continue
    const ip = normaliseIp(text)
    if (!ip) return { ok: false, reason: `${field} is not an IP address: ${quoted(text)}` }
    ips.push(ip)
  }

  const direction = sample.direction === 1 ? 'incoming' : 'outgoing'
  return { ok: true, host: location.host, method, path, observation: { ips: [...new Set(ips)], direction } }
}
