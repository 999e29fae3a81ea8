const encoder = new TextEncoder()

const PUBLIC_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** Uniform random characters from an alphabet (rejection sampling, no modulo bias). */
const randomString = (alphabet: string, length: number): string => {
  const limit = 256 - (256 % alphabet.length)
  let out = ''
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length]
    }
  }
  return out
}

/** A 10-character public id of upper-case letters and digits, like `A1B2C3D4E5`. */
export const newPublicId = () => randomString(PUBLIC_ID_ALPHABET, 10)

/** A 40-character alphanumeric API key. */
export const newApiKey = () => randomString(KEY_ALPHABET, 40)

export const toBase64Url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '')

export const fromBase64Url = (text: string): Uint8Array =>
  Uint8Array.from(atob(text.replaceAll('-', '+').replaceAll('_', '/')), (c) => c.charCodeAt(0))

/** `bytes` random bytes, base64url without padding (32 bytes → 43 characters). */
export const newSecretToken = (bytes = 32) => toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)))

/** SHA-256 of a string, base64url: how keys, codes and reset tokens are stored and looked up. */
export const sha256 = async (value: string): Promise<string> =>
  toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(value))))

/** Compares two secrets in constant time (both are hashed first, so lengths never leak). */
export const safeEqual = async (a: string, b: string): Promise<boolean> => {
  const digest = (v: string) => crypto.subtle.digest('SHA-256', encoder.encode(v))
  const [ha, hb] = await Promise.all([digest(a), digest(b)])
  return crypto.subtle.timingSafeEqual(ha, hb)
}
