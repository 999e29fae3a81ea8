import type { Deps } from '../domain/context'
import type { Principal } from '../domain/principal'

export type AppEnv = {
  Bindings: Env
  Variables: {
    deps: Deps
    /** Set by `authenticate` on routes that declare security. */
    principal?: Principal
  }
}
