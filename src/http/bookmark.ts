import type { Context } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { HOST_COOKIE, SESSION_COOKIE } from './authenticate'

/** The header that carries a D1 bookmark both ways. */
export const BOOKMARK_HEADER = 'x-d1-bookmark'
const BOOKMARK_COOKIE = 'd1-bookmark'
/** D1 bookmarks are dash-separated hexadecimal; anything else is ignored rather than sent to D1. */
const BOOKMARK = /^[0-9a-f]{1,64}(-[0-9a-f]{1,64}){1,7}$/i

/**
 * Where the request's reads come from: the bookmark the client sent (header, or the cookie kept
 * for browser sessions), so that it sees at least what it last saw and wrote; otherwise any replica.
 */
export const readFromOf = (c: Context) => {
  const sent = c.req.header(BOOKMARK_HEADER) ?? getCookie(c, BOOKMARK_COOKIE, 'host')
  return sent && BOOKMARK.test(sent) ? sent : 'first-unconstrained'
}

/** Hands the session's bookmark back: in the header always, and in the cookie of a browser session. */
export const returnBookmark = (c: Context, bookmark: string | null, readFrom: string) => {
  if (!bookmark) return
  c.header(BOOKMARK_HEADER, bookmark)
  if (bookmark !== readFrom && getCookie(c, SESSION_COOKIE, 'host'))
    setCookie(c, BOOKMARK_COOKIE, bookmark, HOST_COOKIE)
}
