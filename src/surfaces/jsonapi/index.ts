import { createRouter } from '../../http/router'
import { accounts } from './accounts'

/** The JSON:API surface: `/accounts`, `/organizations`, `/account_sessions`, `/account/passwords`. */
export const jsonApi = createRouter().route('/', accounts)
