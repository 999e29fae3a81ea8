import type { Deps } from './context'
import { rateLimited } from './errors'

/**
 * Burst guard over the AUTH_LIMITER binding (10 per minute per key). Each key is checked, so
 * `['ip:1.2.3.4', 'email:a@b.c']` throttles per IP and per account.
 */
export const limitBurst = async (deps: Deps, keys: readonly string[]) => {
  for (const key of keys) {
    const { success } = await deps.env.AUTH_LIMITER.limit({ key })
    if (!success) throw rateLimited(60)
  }
}

type Window = { count: number; resetAt: number }

/**
 * At most `limit` calls per `windowSeconds` for a key, counted in KV. KV allows one write per
 * second per key and is eventually consistent, so the count can overshoot slightly under
 * concurrent bursts; a failed write (KV's own rate limit) counts as throttled.
 */
export const limitWindow = async (deps: Deps, key: string, limit: number, windowSeconds: number) => {
  const now = deps.now().getTime()
  const kvKey = `throttle:${key}`
  const current = await deps.env.SESSIONS.get<Window>(kvKey, 'json')
  const window = current && current.resetAt > now ? current : { count: 0, resetAt: now + windowSeconds * 1000 }
  const retryAfter = Math.max(1, Math.ceil((window.resetAt - now) / 1000))
  if (window.count >= limit) throw rateLimited(retryAfter)
  try {
    await deps.env.SESSIONS.put(kvKey, JSON.stringify({ ...window, count: window.count + 1 }), {
      expiration: Math.ceil(window.resetAt / 1000) + 60,
    })
  } catch {
    throw rateLimited(retryAfter)
  }
}
