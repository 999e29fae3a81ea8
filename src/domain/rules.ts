import { invalid } from './errors'

/** Input rules shared by every surface, with the messages the dashboard knows. */

const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/

export const normalizeEmail = (email: string) => email.trim().toLowerCase()

/** A lower-cased, well-formed email address, or 400 `Invalid email`. */
export const validEmail = (email: string | null | undefined): string => {
  const normalized = normalizeEmail(email ?? '')
  if (normalized.length > 254 || normalized.split('@').length !== 2 || !EMAIL.test(normalized))
    throw invalid('Invalid email')
  return normalized
}

export const validUsername = (username: string | null | undefined): string => {
  const name = (username ?? '').trim()
  if (name === '') throw invalid('Username cannot be empty')
  if (!/^[\w\s-]+$/.test(name)) throw invalid('Username is not valid')
  if (name.length > 24) throw invalid("Username can't be longer than 24 characters")
  return name
}

export const validOrganizationName = (organization: string | null | undefined): string => {
  const name = (organization ?? '').trim()
  if (name === '') throw invalid('Organization cannot be empty')
  if (!/^[\w\s.&-]+$/.test(name)) throw invalid('Organization is not valid')
  if (name.length > 24) throw invalid("Organization name can't be longer than 24 characters")
  return name
}

export const validWorkspaceName = (name: string | null | undefined): string => {
  const trimmed = (name ?? '').trim()
  if (trimmed === '') throw invalid("Account name can't be empty")
  if (trimmed.length > 64) throw invalid("Account name can't be longer than 64 characters")
  return trimmed
}
