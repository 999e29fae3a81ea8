import { createRouter } from '../../http/router'
import type { Surface } from '../../http/surface'
import { accountSessions } from './account-sessions'
import { accounts } from './accounts'
import { organizations } from './organizations'
import { passwords } from './passwords'
import { renderJsonApiError } from './render'

/** The JSON:API surface: `/accounts`, `/organizations`, `/account_sessions`, `/account/passwords`. */
const router = createRouter()
for (const routes of [accounts, organizations, accountSessions, passwords]) router.route('/', routes)

export const jsonApi: Surface = {
  name: 'jsonapi',
  router,
  prefixes: ['/accounts', '/organizations', '/account_sessions', '/account'],
  render: renderJsonApiError,
}
