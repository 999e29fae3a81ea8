import { createRouter } from '../../http/router'
import { accounts } from './accounts'
import { credentials } from './credentials'
import { jobs } from './jobs'
import { roles } from './roles'
import { subscriptions } from './subscriptions'
import { team } from './team'

/** The dashboard RPC surface: `POST /api/<action>`, Akto's user-management contract. */
export const rpc = createRouter()
  .route('/', team)
  .route('/', roles)
  .route('/', accounts)
  .route('/', credentials)
  .route('/', subscriptions)
  .route('/', jobs)
