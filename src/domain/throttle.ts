import { refuse } from './authorize'
import type { Deps } from './context'
import { type AppError, rateLimited } from './errors'

/**
 * Sign-in attempts per minute (the rate-limit bindings): 10 per IP, 10 per account from one IP,
 * and 50 per account from anywhere. Counting the account per IP means a stranger's guesses from
 * elsewhere cannot lock a user out, while guesses spread over many addresses stay bounded.
 */
export const limitSignIn = async (deps: Deps, email: string) => {
  const ip = deps.meta.ip ?? 'unknown'
  const limits: [RateLimit, string][] = [
    [deps.env.AUTH_LIMITER, `ip:${ip}`],
    [deps.env.AUTH_LIMITER, `account-ip:${email}:${ip}`],
    [deps.env.ACCOUNT_LIMITER, `account:${email}`],
  ]
  for (const [limiter, key] of limits) {
    const { success } = await limiter.limit({ key })
    if (!success)
      await refuse(deps, null, 'signIn', rateLimited(60, 'Too many sign-in attempts: try again in 60 seconds'))
  }
}

type Window = { count: number; resetAt: number }

/**
 * Whether a key already had `limit` events in its current window of `windowSeconds`, counted in
 * KV. `recordInWindow` counts one more once the event really happened, so refused attempts do not
 * use the allowance. KV allows one write per second per key and is eventually consistent, so the
 * count can overshoot slightly under concurrent bursts.
 */
export const checkWindow = async (
  deps: Deps,
  key: string,
  limit: number,
  windowSeconds: number,
): Promise<{ window: Window; exceeded: AppError | null }> => {
  const now = deps.now().getTime()
  const current = await deps.env.SESSIONS.get<Window>(`throttle:${key}`, 'json')
  const window = current && current.resetAt > now ? current : { count: 0, resetAt: now + windowSeconds * 1000 }
  const retryAfter = Math.max(1, Math.ceil((window.resetAt - now) / 1000))
  return {
    window,
    exceeded:
      window.count >= limit
        ? rateLimited(
            retryAfter,
            `Too many requests: at most ${limit} per ${windowSeconds / 60} minutes; try again in ${retryAfter} seconds`,
          )
        : null,
  }
}

export const recordInWindow = async (deps: Deps, key: string, { window }: { window: Window }) => {
  try {
    await deps.env.SESSIONS.put(`throttle:${key}`, JSON.stringify({ ...window, count: window.count + 1 }), {
      expiration: Math.ceil(window.resetAt / 1000) + 60,
    })
  } catch (err) {
    console.warn(JSON.stringify({ level: 'warn', message: 'throttle count not recorded', key, error: String(err) }))
  }
}
