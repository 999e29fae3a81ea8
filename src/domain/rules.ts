import { invalid } from './errors'

/** Input rules shared by every surface, with the messages the dashboard knows. */

const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/

/** Control characters, line and paragraph separators, and invisible format characters (bidirectional overrides among them). */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u

export const normalizeEmail = (email: string) => email.trim().toLowerCase()

/** A lower-cased, well-formed email address, or 400 `Invalid email`. */
export const validEmail = (email: string | null | undefined): string => {
  const normalized = normalizeEmail(email ?? '')
  if (normalized.length > 254 || normalized.split('@').length !== 2 || !EMAIL.test(normalized))
    throw invalid('Invalid email')
  return normalized
}

/**
 * A name shown to people (in the dashboard, in emails): one line of printable text, trimmed, at
 * most `max` characters. Line breaks and direction overrides would let a name forge other lines
 * of an email or disguise itself.
 */
export const validName = (
  value: string | null | undefined,
  label: string,
  max: number,
  messages: { empty?: string; tooLong?: string } = {},
): string => {
  const name = (value ?? '').trim()
  if (name === '') throw invalid(messages.empty ?? `${label} cannot be empty`)
  if (UNPRINTABLE.test(name))
    throw invalid(
      `${label} must be one line of plain text, without control characters, line breaks or direction overrides`,
    )
  if (name.length > max) throw invalid(messages.tooLong ?? `${label} can't be longer than ${max} characters`)
  return name
}

export const validUsername = (username: string | null | undefined): string => {
  const name = validName(username, 'Username', 24)
  if (!/^[\w -]+$/.test(name)) throw invalid('Username is not valid')
  return name
}

export const validOrganizationName = (organization: string | null | undefined): string => {
  const name = validName(organization, 'Organization', 24, {
    tooLong: "Organization name can't be longer than 24 characters",
  })
  if (!/^[\w .&-]+$/.test(name)) throw invalid('Organization is not valid')
  return name
}

export const validWorkspaceName = (name: string | null | undefined): string =>
  validName(name, 'Account name', 64, { empty: "Account name can't be empty" })
