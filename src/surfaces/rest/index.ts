import { renderProblem } from '../../http/problem'
import { createRouter } from '../../http/router'
import type { Surface } from '../../http/surface'
import { me } from './me'
import { serviceAccounts } from './service-accounts'
import { teams } from './teams'

/** The REST surface: `/me` and `/org/users`, errors as RFC 9457 problem details. */
export const rest: Surface = {
  name: 'rest',
  router: createRouter().route('/', me).route('/', teams).route('/', serviceAccounts),
  prefixes: ['/me', '/org'],
  render: renderProblem,
}
