import { createRouter } from '../../http/router'
import type { Surface } from '../../http/surface'
import { accounts } from './accounts'
import { credentials } from './credentials'
import { inventory, TRAFFIC_BODY_LIMITS } from './inventory'
import { jobs } from './jobs'
import { renderRpcError } from './render'
import { roles } from './roles'
import { subscriptions } from './subscriptions'
import { team } from './team'

/** The dashboard RPC surface: `POST /api/<action>`, Akto's user-management contract. */
export const rpc: Surface = {
  name: 'rpc',
  router: createRouter()
    .route('/', team)
    .route('/', roles)
    .route('/', accounts)
    .route('/', credentials)
    .route('/', subscriptions)
    .route('/', jobs)
    .route('/', inventory),
  prefixes: ['/api'],
  render: renderRpcError,
  bodyLimits: TRAFFIC_BODY_LIMITS,
}
