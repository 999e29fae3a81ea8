import { createRouter } from '../../http/router'
import { me } from './me'

/** The REST surface: `/me` and `/org/users`, errors as RFC 9457 problem details. */
export const rest = createRouter().route('/', me)
