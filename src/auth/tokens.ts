import { errors, jwtVerify, SignJWT } from 'jose'
import { hmacKey } from './crypto'

/**
 * The only module that signs and checks tokens. Sessions and invitation codes are HS256 JWTs
 * under AUTH_SECRET, told apart by audience so that one can never stand in for the other.
 */
const ISSUER = 'edge-iam'

export type SessionClaims = { loginId: string; userPublicId: string }

export const signSession = async (secret: string, claims: SessionClaims, expiresAt: Date) =>
  new SignJWT({ sid: claims.loginId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience('session')
    .setSubject(claims.userPublicId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(await hmacKey(secret))

/** The session a token names, or null when it is forged, expired or not a session token. */
export const verifySession = async (secret: string, token: string): Promise<SessionClaims | null> => {
  try {
    const { payload } = await jwtVerify(token, await hmacKey(secret), {
      issuer: ISSUER,
      audience: 'session',
      algorithms: ['HS256'],
      requiredClaims: ['sid', 'sub', 'exp'],
    })
    if (typeof payload.sid !== 'string' || !payload.sub) return null
    return { loginId: payload.sid, userPublicId: payload.sub }
  } catch (err) {
    if (err instanceof errors.JOSEError) return null
    throw err
  }
}

export type InvitationClaims = { email: string; workspaceId: number }

export const signInvitation = async (secret: string, claims: InvitationClaims, expiresAt: Date) =>
  new SignJWT({ email: claims.email, wid: claims.workspaceId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience('invitation')
    .setSubject('invite_user')
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(await hmacKey(secret))

export const verifyInvitation = async (secret: string, code: string): Promise<InvitationClaims | null> => {
  try {
    const { payload } = await jwtVerify(code, await hmacKey(secret), {
      issuer: ISSUER,
      audience: 'invitation',
      subject: 'invite_user',
      algorithms: ['HS256'],
      requiredClaims: ['email', 'wid', 'exp'],
    })
    if (typeof payload.email !== 'string' || typeof payload.wid !== 'number') return null
    return { email: payload.email, workspaceId: payload.wid }
  } catch (err) {
    if (err instanceof errors.JOSEError) return null
    throw err
  }
}

/** Proof that a password was right, to be completed by a second factor within minutes. */
export const signMfaChallenge = async (secret: string, userPublicId: string, expiresAt: Date) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience('mfa-challenge')
    .setSubject(userPublicId)
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(await hmacKey(secret))

/** The user a challenge was issued to, or null when it is forged, expired or not a challenge. */
export const verifyMfaChallenge = async (secret: string, token: string): Promise<string | null> => {
  try {
    const { payload } = await jwtVerify(token, await hmacKey(secret), {
      issuer: ISSUER,
      audience: 'mfa-challenge',
      algorithms: ['HS256'],
      requiredClaims: ['sub', 'exp'],
    })
    return payload.sub ?? null
  } catch (err) {
    if (err instanceof errors.JOSEError) return null
    throw err
  }
}
