/**
 * Time-based one-time passwords (RFC 6238, over the HOTP of RFC 4226) with WebCrypto, and the
 * base32 that authenticator apps read secrets in (RFC 4648 §6).
 */
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

export const base32Encode = (bytes: Uint8Array) => {
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

export const base32Decode = (text: string) => {
  const clean = text.toUpperCase().replace(/[\s=-]/g, '')
  const out: number[] = []
  let bits = 0
  let value = 0
  for (const char of clean) {
    const index = BASE32.indexOf(char)
    if (index < 0) throw new Error('Not base32')
    value = (value << 5) | index
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255)
      bits -= 8
    }
  }
  return new Uint8Array(out)
}

export type TotpHash = 'SHA-1' | 'SHA-256' | 'SHA-512'

/** The code of one time step (RFC 4226 §5.3 dynamic truncation). */
export const totpAt = async (secret: Uint8Array, step: number, digits = 6, hash: TotpHash = 'SHA-1') => {
  const counter = new Uint8Array(8)
  new DataView(counter.buffer).setBigUint64(0, BigInt(step))
  const key = await crypto.subtle.importKey('raw', secret as BufferSource, { name: 'HMAC', hash }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, counter))
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f
  const binary =
    (((mac[offset] ?? 0) & 0x7f) << 24) |
    ((mac[offset + 1] ?? 0) << 16) |
    ((mac[offset + 2] ?? 0) << 8) |
    (mac[offset + 3] ?? 0)
  return String(binary % 10 ** digits).padStart(digits, '0')
}

export const PERIOD_SECONDS = 30

/** The time step of an instant (T0 = 0, 30-second steps). */
export const stepOf = (date: Date) => Math.floor(date.getTime() / 1000 / PERIOD_SECONDS)

/**
 * The step whose code `code` is, among the current step and one on either side (clock drift), or
 * null. Callers must also refuse a step already used.
 */
export const matchingStep = async (secret: Uint8Array, code: string, now: Date) => {
  if (!/^\d{6}$/.test(code)) return null
  const current = stepOf(now)
  for (const step of [current - 1, current, current + 1]) {
    if ((await totpAt(secret, step)) === code) return step
  }
  return null
}

/** The provisioning URI an authenticator app reads from a QR code. */
export const otpauthUrl = (secret: string, account: string, issuer: string) =>
  `otpauth://totp/${encodeURIComponent(`${issuer}:${account}`)}?secret=${secret}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=${PERIOD_SECONDS}`
