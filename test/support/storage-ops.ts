/**
 * An Env whose D1 and KV bindings count their round trips: each D1 query (or batch) and each KV
 * operation is one. The real bindings do the work; the proxies only count. `sessions` holds where
 * each D1 session was asked to read from (the `withSession` argument), in order.
 */
export const countingEnv = (base: Env) => {
  const ops = { d1: [] as string[], kv: [] as string[], batches: [] as string[][], sessions: [] as string[] }
  const originals = new WeakMap<object, { statement: D1PreparedStatement; query: string }>()
  const statement = (s: D1PreparedStatement, query: string): D1PreparedStatement => {
    const wrapped = new Proxy(s, {
      get(target, key) {
        if (key === 'bind') return (...values: unknown[]) => statement(target.bind(...values), query)
        const value = Reflect.get(target, key)
        if (typeof value !== 'function') return value
        if (['all', 'raw', 'run', 'first'].includes(String(key))) ops.d1.push(query)
        return value.bind(target)
      },
    })
    originals.set(wrapped, { statement: s, query })
    return wrapped
  }
  // The database and each of its sessions (the Sessions API), which the Worker queries through.
  const counted = <T extends D1Database | D1DatabaseSession>(d1: T): T =>
    new Proxy(d1, {
      get(target, key) {
        if (key === 'prepare') return (query: string) => statement(target.prepare(query), query)
        if (key === 'batch')
          return (statements: D1PreparedStatement[]) => {
            ops.d1.push(`batch of ${statements.length}`)
            ops.batches.push(statements.map((s) => originals.get(s)?.query ?? '?'))
            return target.batch(statements.map((s) => originals.get(s)?.statement ?? s))
          }
        if (key === 'withSession')
          return (readFrom?: string) => {
            ops.sessions.push(String(readFrom))
            return counted((target as D1Database).withSession(readFrom))
          }
        const value = Reflect.get(target, key)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  const db = counted(base.DB)
  const kv = new Proxy(base.SESSIONS, {
    get(target, key) {
      const value = Reflect.get(target, key)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        ops.kv.push(`${String(key)} ${String(args[0])}`)
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { env: { ...base, DB: db, SESSIONS: kv } as Env, ops }
}

/** A statement cut to its verb and tables. */
const summarize = (query: string) => {
  const verb = query.trim().split(/\s+/)[0]?.toUpperCase() ?? '?'
  const tables = [...new Set([...query.matchAll(/(?:from|join|into|update)\s+"?(\w+)"?/gi)].map((m) => m[1]))]
  return `${verb} ${tables.join(', ')}`
}

/** The counted D1 operations for a report: each statement as its verb and tables, batches with theirs. */
export const describeOps = (ops: ReturnType<typeof countingEnv>['ops']) => {
  const batches = ops.batches.values()
  return {
    d1: ops.d1.map((op) =>
      op.startsWith('batch of ') ? `${op} (${(batches.next().value ?? []).map(summarize).join('; ')})` : summarize(op),
    ),
    kv: ops.kv,
  }
}
