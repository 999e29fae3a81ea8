import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from '../src'
import { BASE, post, seedSignedIn } from './support'
import { countingEnv } from './support/storage-ops'

const BOOKMARK = 'x-d1-bookmark'

/**
 * A JSON POST through the Worker with bindings that record where each D1 session reads from. Local
 * D1 has no replicas, so a read answers the same with or without the bookmark: what the app hands
 * to `withSession` is what shows that it honours the client's bookmark.
 */
const readingPost = async (path: string, body: unknown, headers: Record<string, string>) => {
  const { env: recording, ops } = countingEnv(env)
  const ctx = createExecutionContext()
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }),
    recording,
    ctx,
  )
  await waitOnExecutionContext(ctx)
  return { res, sessions: ops.sessions }
}

describe('read-your-writes with D1 bookmarks', () => {
  it('answers the bookmark of a write, and a read that sends it back sees the write', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const write = await post(
      '/api/updateUsernameAndOrganization',
      { username: 'Renamed Admin', organization: 'Acme' },
      headers,
    )
    expect(write.status).toBe(200)
    const written = write.headers.get(BOOKMARK)
    expect(written).toMatch(/^[0-9a-f]+(-[0-9a-f]+)+$/)

    const { res: team, sessions } = await readingPost('/api/getTeamData', {}, { ...headers, [BOOKMARK]: written! })
    expect(team.status).toBe(200)
    expect(sessions).toContain(written)
    expect((await team.json<{ name: string }[]>()).map((u) => u.name)).toEqual(['Renamed Admin'])
    // D1 bookmarks are ordered: the read's session stands at or after the write.
    expect(team.headers.get(BOOKMARK)! >= written!).toBe(true)
  })

  it('ignores a bookmark that is not one, instead of failing the request', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    // Not shaped like a bookmark: the app reads from any replica and never hands it to D1.
    for (const bad of ['not a bookmark', '../../etc', 'x'.repeat(300)]) {
      const { res, sessions } = await readingPost('/api/getTeamData', {}, { ...headers, [BOOKMARK]: bad })
      expect(res.status, bad).toBe(200)
      expect(sessions, bad).toContain('first-unconstrained')
      expect(sessions, bad).not.toContain(bad)
    }
    // Shaped like a bookmark but never issued: it passes the app's shape check (so no session
    // assertion here); the request must still succeed.
    const unissued = `ffffffff-ffffffff-ffffffff-${'f'.repeat(32)}`
    const { res } = await readingPost('/api/getTeamData', {}, { ...headers, [BOOKMARK]: unissued })
    expect(res.status, unissued).toBe(200)
  })

  it('keeps the bookmark in a cookie for a browser session, and reads from it', async () => {
    const { user } = await seedSignedIn('ADMIN', { password: 'Cookie-Jar-42' })
    const login = await post('/auth/login', { email: user.email, password: user.password })
    expect(login.status).toBe(200)
    const session = login.headers
      .getSetCookie()
      .find((c) => c.startsWith('__Host-session='))!
      .split(';')[0]!
    const renamed = await post(
      '/api/updateUsernameAndOrganization',
      { username: 'Cookie Admin', organization: 'Acme' },
      { Cookie: session, Origin: 'https://iam.test' },
    )
    expect(renamed.status).toBe(200)
    const kept = renamed.headers.getSetCookie().find((c) => c.startsWith('__Host-d1-bookmark='))
    expect(kept).toContain(`__Host-d1-bookmark=${renamed.headers.get(BOOKMARK)}`)
    expect(kept).toMatch(/HttpOnly/i)
    const { res: team, sessions } = await readingPost(
      '/api/getTeamData',
      {},
      { Cookie: `${session}; ${kept!.split(';')[0]}`, Origin: 'https://iam.test' },
    )
    expect(team.status).toBe(200)
    expect(sessions).toContain(renamed.headers.get(BOOKMARK))
    expect(team.headers.get(BOOKMARK)! >= renamed.headers.get(BOOKMARK)!).toBe(true)
    expect((await team.json<{ name: string }[]>()).map((u) => u.name)).toEqual(['Cookie Admin'])
  })

  it('gives no bookmark cookie to token clients, who carry the header themselves', async () => {
    const { headers } = await seedSignedIn('ADMIN')
    const res = await post(
      '/api/updateUsernameAndOrganization',
      { username: 'Token Admin', organization: 'Acme' },
      headers,
    )
    expect(res.headers.get(BOOKMARK)).toBeTruthy()
    expect(res.headers.getSetCookie().filter((c) => c.includes('d1-bookmark'))).toEqual([])
  })
})
