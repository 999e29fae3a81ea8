import { createRouter } from '../../http/router'
import { team } from './team'

/** The dashboard RPC surface: `POST /api/<action>`, Akto's user-management contract. */
export const rpc = createRouter().route('/', team)
