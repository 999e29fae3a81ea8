/**
 * The floor: the least an authenticated read can do on this storage. One KV get of the session
 * named by the bearer token, one D1 select of its user by primary key, the row as JSON. Nothing
 * else: no router, no validation, no D1 session, no logging.
 */
type FloorEnv = { DB: D1Database; SESSIONS: KVNamespace }

export default {
  async fetch(request, env) {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1]
    const session = token ? await env.SESSIONS.get<{ userId: number }>(`session:${token}`, 'json') : null
    if (!session) return Response.json({ error: 'unauthenticated' }, { status: 401 })
    const user = await env.DB.prepare('SELECT id, email, name, created_at FROM users WHERE id = ?')
      .bind(session.userId)
      .first()
    return user ? Response.json(user) : Response.json({ error: 'not found' }, { status: 404 })
  },
} satisfies ExportedHandler<FloorEnv>
