// Load with autocannon's programmatic API, and the D1/KV counts read from instrumented responses.
import autocannon from 'autocannon'

/** A request builder's sequence, continued across runs (so a role flips and an IP is new each time). */
const counters = new Map()
export const nextNumber = (key) => {
  const n = counters.get(key) ?? 0
  counters.set(key, n + 1)
  return n
}

/**
 * One autocannon run against `url` for `seconds` with `connections`, each request built by
 * `build(n)`. Answers the count, the duration, every latency (ms) and the status codes.
 */
export const load = (url, build, key, { seconds, connections }) =>
  new Promise((resolve, reject) => {
    const latencies = []
    const statuses = {}
    let bytes = 0
    const instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        requests: [
          {
            setupRequest: (req) => {
              const r = build(nextNumber(key))
              return { ...req, method: r.method, path: r.path, headers: r.headers ?? {}, body: r.body }
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err)
        resolve({
          requests: latencies.length,
          seconds: result.duration,
          latencies,
          statuses,
          bytes,
          errors: result.errors + result.timeouts,
        })
      },
    )
    instance.on('response', (_client, statusCode, resBytes, responseTime) => {
      latencies.push(responseTime)
      bytes += resBytes
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1
    })
  })

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN

/** Several runs of one target as one: rate over their total time, percentiles over all latencies. */
export const combine = (runs) => {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b)
  const requests = runs.reduce((n, r) => n + r.requests, 0)
  const seconds = runs.reduce((s, r) => s + r.seconds, 0)
  const statuses = {}
  for (const r of runs) for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n
  const non2xx = Object.entries(statuses).reduce((n, [code, count]) => n + (code.startsWith('2') ? 0 : count), 0)
  return {
    rps: requests / seconds,
    roundsRps: runs.map((r) => r.requests / r.seconds),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests,
    bytesPerResponse: runs.reduce((n, r) => n + r.bytes, 0) / requests,
    non2xx,
    statuses,
    errors: runs.reduce((n, r) => n + r.errors, 0),
  }
}

/**
 * The D1 round trips and KV operations of a scenario's requests, from the instrumented build's
 * headers: one request first (not counted: first use), then `samples` one at a time.
 */
export const countOps = async (url, build, key, { samples = 5, extraHeaders = {} } = {}) => {
  const seen = []
  for (let i = 0; i <= samples; i++) {
    const r = build(nextNumber(key))
    const res = await fetch(`${url}${r.path}`, {
      method: r.method,
      headers: { ...r.headers, ...extraHeaders },
      body: r.body,
    })
    await res.arrayBuffer()
    if (i === 0) continue
    seen.push({
      status: res.status,
      d1: Number(res.headers.get('x-bench-d1')),
      kv: Number(res.headers.get('x-bench-kv')),
      deferredD1: Number(res.headers.get('x-bench-d1-deferred') ?? 0),
      deferredKv: Number(res.headers.get('x-bench-kv-deferred') ?? 0),
      ops: JSON.parse(res.headers.get('x-bench-ops') ?? '{"d1":[],"kv":[]}'),
    })
  }
  const range = (k) => [Math.min(...seen.map((s) => s[k])), Math.max(...seen.map((s) => s[k]))]
  const last = seen.at(-1)
  return {
    d1: range('d1'),
    kv: range('kv'),
    deferredD1: range('deferredD1'),
    deferredKv: range('deferredKv'),
    statuses: [...new Set(seen.map((s) => s.status))],
    d1Ops: last.ops.d1,
    kvOps: last.ops.kv.map((op) => op.replace(/:[\w-]{8,}$/, ':…')),
  }
}
