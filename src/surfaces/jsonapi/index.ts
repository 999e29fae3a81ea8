import { createRouter } from '../../http/router'
import type { Surface } from '../../http/surface'
import { accounts } from './accounts'
import { renderJsonApiError } from './render'

/** The JSON:API surface: `/accounts`, `/organizations`, `/account_sessions`, `/account/passwords`. */
export const jsonApi: Surface = {
  name: 'jsonapi',
  router: createRouter().route('/', accounts),
  prefixes: ['/accounts', '/organizations', '/account_sessions', '/account'],
  render: renderJsonApiError,
}
