import { fromBase64Url, toBase64Url } from './crypto'

/**
 * PBKDF2-SHA256 through WebCrypto. The production Workers runtime refuses more than 100,000
 * iterations (local workerd accepts more, so only a test catches it), hence exactly that, plus
 * an optional server-side pepper. Parameters live in the hash so they can be raised and rehashed.
 */
export const PBKDF2_ITERATIONS = 100_000
const SALT_BYTES = 16
const HASH_BYTES = 32
const encoder = new TextEncoder()

const derive = async (password: string, salt: Uint8Array, iterations: number, pepper?: string) => {
  let material: BufferSource = encoder.encode(password)
  if (pepper) {
    const key = await crypto.subtle.importKey('raw', encoder.encode(pepper), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ])
    material = await crypto.subtle.sign('HMAC', key, material)
  }
  const key = await crypto.subtle.importKey('raw', material, 'PBKDF2', false, ['deriveBits'])
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations },
    key,
    HASH_BYTES * 8,
  )
  return new Uint8Array(bits)
}

type Parsed = { peppered: boolean; iterations: number; salt: Uint8Array; hash: Uint8Array }

const parse = (stored: string): Parsed | null => {
  const [scheme, iterations, salt, hash] = stored.split('$')
  if ((scheme !== 'pbkdf2-sha256' && scheme !== 'pbkdf2-sha256-pepper') || !salt || !hash) return null
  const n = Number(iterations)
  if (!Number.isInteger(n) || n < 1 || n > PBKDF2_ITERATIONS) return null
  return { peppered: scheme.endsWith('pepper'), iterations: n, salt: fromBase64Url(salt), hash: fromBase64Url(hash) }
}

export const hashPassword = async (
  password: string,
  pepper?: string,
  iterations = PBKDF2_ITERATIONS,
): Promise<string> => {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES))
  const hash = await derive(password, salt, iterations, pepper)
  const scheme = pepper ? 'pbkdf2-sha256-pepper' : 'pbkdf2-sha256'
  return `${scheme}$${iterations}$${toBase64Url(salt)}$${toBase64Url(hash)}`
}

// A well-formed hash that matches no password, so unknown users cost the same as known ones.
const DUMMY_HASH = `pbkdf2-sha256$${PBKDF2_ITERATIONS}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`

/** Checks a password; `stored` null (unknown user, or no password set) still does the full work. */
export const verifyPassword = async (
  password: string,
  stored: string | null,
  pepper?: string,
): Promise<{ ok: boolean; needsRehash: boolean }> => {
  const parsed = parse(stored ?? DUMMY_HASH) ?? (parse(DUMMY_HASH) as Parsed)
  const actual = await derive(password, parsed.salt, parsed.iterations, parsed.peppered ? pepper : undefined)
  const ok =
    stored !== null &&
    (!parsed.peppered || !!pepper) &&
    actual.length === parsed.hash.length &&
    crypto.subtle.timingSafeEqual(actual, parsed.hash)
  return { ok, needsRehash: ok && (parsed.iterations < PBKDF2_ITERATIONS || parsed.peppered !== !!pepper) }
}

const SPECIAL = /[!@#$%^&*()_+\-=[\]{};':"\\|,.<>/?]/

/** The password rules; returns what is wrong, or null. */
export const passwordProblem = (password: string): string | null => {
  if (password.length < 8) return 'Password must be at least 8 characters'
  if (password.length > 128) return 'Password must be at most 128 characters'
  if (!/[A-Z]/.test(password)) return 'Password must include at least one uppercase letter'
  if (!/[a-z]/.test(password)) return 'Password must include at least one lowercase letter'
  if (!/[0-9]/.test(password)) return 'Password must include at least one digit'
  if (!SPECIAL.test(password)) return 'Password must include at least one special character'
  return null
}
