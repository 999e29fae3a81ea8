const encoder = new TextEncoder()

const PUBLIC_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** Uniform random characters from an alphabet (rejection sampling, no modulo bias). */
export const randomString = (alphabet: string, length: number): string => {
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

const hmacKeys = new Map<string, Promise<CryptoKey>>()

/** The HMAC-SHA256 key of a secret, imported once per isolate rather than at every sign and verify. */
export const hmacKey = (secret: string) => {
  let key = hmacKeys.get(secret)
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ])
    hmacKeys.set(secret, key)
  }
  return key
}

/** SHA-256 of a string, base64url: how keys, codes and reset tokens are stored and looked up. */
export const sha256 = async (value: string): Promise<string> =>
  toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(value))))

/** Compares two secrets in constant time (both are hashed first, so lengths never leak). */
export const safeEqual = async (a: string, b: string): Promise<boolean> => {
  const digest = (v: string) => crypto.subtle.digest('SHA-256', encoder.encode(v))
  const [ha, hb] = await Promise.all([digest(a), digest(b)])
  return crypto.subtle.timingSafeEqual(ha, hb)
}

/** An AES-GCM key derived from a deployment secret for one purpose (HKDF-SHA256). */
const sealingKey = async (secret: string, purpose: string) => {
  const material = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey'])
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: encoder.encode(purpose) },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  )
}

/** Encrypts a value at rest: base64url of a random 12-byte IV followed by the AES-GCM ciphertext. */
export const seal = async (secret: string, purpose: string, plaintext: Uint8Array) => {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv },
    await sealingKey(secret, purpose),
    plaintext as BufferSource,
  )
  const out = new Uint8Array(12 + sealed.byteLength)
  out.set(iv)
  out.set(new Uint8Array(sealed), 12)
  return toBase64Url(out)
}

export const unseal = async (secret: string, purpose: string, sealed: string) => {
  const bytes = fromBase64Url(sealed)
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: bytes.slice(0, 12) },
    await sealingKey(secret, purpose),
    bytes.slice(12),
  )
  return new Uint8Array(plain)
}
