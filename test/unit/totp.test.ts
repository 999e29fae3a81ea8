import { describe, expect, it } from 'vitest'
import {
  base32Decode,
  base32Encode,
  matchingStep,
  otpauthUrl,
  PERIOD_SECONDS,
  stepOf,
  type TotpHash,
  totpAt,
} from '../../src/auth/totp'

const ascii = (text: string) => new TextEncoder().encode(text)

/** RFC 6238 Appendix B: the seeds are the ASCII digits repeated to the hash's output length. */
const SEEDS: Record<TotpHash, Uint8Array> = {
  'SHA-1': ascii('12345678901234567890'),
  'SHA-256': ascii('12345678901234567890123456789012'),
  'SHA-512': ascii('1234567890123456789012345678901234567890123456789012345678901234'),
}

/** RFC 6238 Appendix B, table of test vectors: Unix time (seconds) → 8-digit code per hash. */
const VECTORS: [number, Record<TotpHash, string>][] = [
  [59, { 'SHA-1': '94287082', 'SHA-256': '46119246', 'SHA-512': '90693936' }],
  [1111111109, { 'SHA-1': '07081804', 'SHA-256': '68084774', 'SHA-512': '25091201' }],
  [1111111111, { 'SHA-1': '14050471', 'SHA-256': '67062674', 'SHA-512': '99943326' }],
  [1234567890, { 'SHA-1': '89005924', 'SHA-256': '91819424', 'SHA-512': '93441116' }],
  [2000000000, { 'SHA-1': '69279037', 'SHA-256': '90698825', 'SHA-512': '38618901' }],
  [20000000000, { 'SHA-1': '65353130', 'SHA-256': '77737706', 'SHA-512': '47863826' }],
]

/** The T column of Appendix B, in hex, for the same times. */
const STEPS_HEX = [
  '0000000000000001',
  '00000000023523EC',
  '00000000023523ED',
  '000000000273EF07',
  '0000000003F940AA',
  '0000000027BC86AA',
]

describe('totpAt (RFC 6238 Appendix B)', () => {
  it('derives the time steps of the appendix from Unix time with T0 = 0 and X = 30', () => {
    expect(PERIOD_SECONDS).toBe(30)
    VECTORS.forEach(([time], i) => {
      const step = stepOf(new Date(time * 1000))
      expect(step.toString(16).toUpperCase().padStart(16, '0'), `T for ${time}`).toBe(STEPS_HEX[i])
    })
  })

  for (const hash of ['SHA-1', 'SHA-256', 'SHA-512'] as const) {
    it(`gives every 8-digit ${hash} code of the appendix`, async () => {
      for (const [time, codes] of VECTORS) {
        const code = await totpAt(SEEDS[hash], stepOf(new Date(time * 1000)), 8, hash)
        expect(code, `${hash} at ${time}`).toBe(codes[hash])
      }
    })
  }

  it('defaults to SHA-1 with 6 digits: the last six of the 8-digit code, leading zeros kept', async () => {
    for (const [time, codes] of VECTORS) {
      const six = await totpAt(SEEDS['SHA-1'], stepOf(new Date(time * 1000)))
      expect(six).toMatch(/^\d{6}$/)
      expect(six).toBe(codes['SHA-1'].slice(-6))
    }
    // 1111111109: 07081804 → 081804, which keeps its leading zero.
    expect(await totpAt(SEEDS['SHA-1'], stepOf(new Date(1111111109 * 1000)))).toBe('081804')
  })
})

describe('matchingStep', () => {
  const secret = SEEDS['SHA-1']
  const at = (seconds: number) => new Date(seconds * 1000)

  it('accepts the current code and one step either side, and answers the step that matched', async () => {
    const now = at(1234567890)
    const step = stepOf(now)
    for (const s of [step - 1, step, step + 1]) expect(await matchingStep(secret, await totpAt(secret, s), now)).toBe(s)
  })

  it('refuses codes two steps away, malformed codes and 8-digit codes', async () => {
    const now = at(1234567890)
    const step = stepOf(now)
    expect(await matchingStep(secret, await totpAt(secret, step - 2), now)).toBeNull()
    expect(await matchingStep(secret, await totpAt(secret, step + 2), now)).toBeNull()
    expect(await matchingStep(secret, await totpAt(secret, step, 8), now)).toBeNull()
    for (const bad of ['', '12345', '1234567', 'abcdef', ' 12345', '12 345', '１２３４５６'])
      expect(await matchingStep(secret, bad, now), JSON.stringify(bad)).toBeNull()
  })
})

describe('base32 (RFC 4648 §6)', () => {
  /** The RFC's test vectors, without the padding that base32Encode leaves out. */
  const RFC_VECTORS: [string, string][] = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ]

  it('encodes the RFC vectors (unpadded) and decodes them, padded or not', () => {
    for (const [plain, encoded] of RFC_VECTORS) {
      expect(base32Encode(ascii(plain))).toBe(encoded)
      expect(new TextDecoder().decode(base32Decode(encoded))).toBe(plain)
      const padded = encoded.padEnd(Math.ceil(encoded.length / 8) * 8, '=')
      expect(new TextDecoder().decode(base32Decode(padded))).toBe(plain)
    }
  })

  it('encodes the RFC 6238 SHA-1 seed as authenticator apps know it', () => {
    expect(base32Encode(SEEDS['SHA-1'])).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')
  })

  it('round-trips random secrets of every length from 0 to 64 bytes', () => {
    for (let length = 0; length <= 64; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length))
      const encoded = base32Encode(bytes)
      expect(encoded).toMatch(/^[A-Z2-7]*$/)
      expect(encoded).toHaveLength(Math.ceil((length * 8) / 5))
      expect(base32Decode(encoded)).toEqual(bytes)
    }
  })

  it('reads secrets as people type them: lower case, spaces and dashes', () => {
    const bytes = crypto.getRandomValues(new Uint8Array(20))
    const encoded = base32Encode(bytes)
    const typed = encoded
      .toLowerCase()
      .match(/.{1,4}/g)!
      .join(' ')
    expect(base32Decode(typed)).toEqual(bytes)
    expect(base32Decode(encoded.match(/.{1,4}/g)!.join('-'))).toEqual(bytes)
  })

  it('refuses characters outside the alphabet', () => {
    for (const bad of ['MZXW1', 'MZXW0', 'MZXW8', 'MZXW9', 'MZ!W6', 'MZXW6_'])
      expect(() => base32Decode(bad), bad).toThrow('Not base32')
  })

  it('yields a secret that the decoded bytes turn into the same codes', async () => {
    const secret = base32Encode(crypto.getRandomValues(new Uint8Array(20)))
    const step = stepOf(new Date())
    expect(await totpAt(base32Decode(secret), step)).toBe(await totpAt(base32Decode(secret.toLowerCase()), step))
  })
})

describe('otpauthUrl', () => {
  it('names issuer and account, and states SHA-1, 6 digits and 30 seconds', () => {
    const url = new URL(otpauthUrl('GEZDGNBVGY3TQOJQ', 'alice+x@example.com', 'edge-iam'))
    expect(url.protocol).toBe('otpauth:')
    expect(url.host).toBe('totp')
    expect(decodeURIComponent(url.pathname)).toBe('/edge-iam:alice+x@example.com')
    expect(Object.fromEntries(url.searchParams)).toEqual({
      secret: 'GEZDGNBVGY3TQOJQ',
      issuer: 'edge-iam',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    })
  })
})
