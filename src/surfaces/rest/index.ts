import { renderProblem } from '../../http/problem'
import { createRouter } from '../../http/router'
import type { Surface } from '../../http/surface'
import { devOutbox } from './dev-outbox'
import { me } from './me'
import { myEmails } from './my-emails'
import { myLogins } from './my-logins'
import { myMfa } from './my-mfa'
import { orgUsers } from './org-users'
import { serviceAccounts } from './service-accounts'
import { teams } from './teams'

/** The REST surface: `/me`, `/org/*` (and the development outbox), errors as RFC 9457 problem details. */
const router = createRouter()
for (const routes of [me, myEmails, myLogins, myMfa, orgUsers, teams, serviceAccounts, devOutbox])
  router.route('/', routes)

export const rest: Surface = {
  name: 'rest',
  router,
  prefixes: ['/me', '/org', '/dev'],
  render: renderProblem,
}
