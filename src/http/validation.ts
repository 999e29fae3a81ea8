import { z } from '@hono/zod-openapi'
import type { ZodError } from 'zod'
import { AppError, type Issue } from '../domain/errors'

// Messages a person can act on, instead of zod's type-system wording.
z.config({
  customError: (issue) => {
    switch (issue.code) {
      case 'invalid_type':
        return issue.input === undefined ? 'is required' : `must be ${article(issue.expected)}`
      case 'too_big':
        return issue.origin === 'string'
          ? `must be at most ${issue.maximum} characters`
          : issue.origin === 'array'
            ? `must have at most ${issue.maximum} items`
            : `must be at most ${issue.maximum}`
      case 'too_small':
        return issue.origin === 'string'
          ? `must be at least ${issue.minimum} characters`
          : issue.origin === 'array'
            ? `must have at least ${issue.minimum} items`
            : `must be at least ${issue.minimum}`
      case 'invalid_value':
        return `must be one of: ${issue.values.join(', ')}`
      case 'invalid_format':
        return issue.format === 'email' ? 'must be a valid email address' : `must be a valid ${issue.format}`
      case 'unrecognized_keys':
        return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`
      default:
        return undefined
    }
  },
})

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`)

type Target = 'json' | 'query' | 'param' | 'header' | 'cookie' | 'form'

const LOCATION: Record<Target, Issue['in']> = {
  json: 'body',
  form: 'body',
  query: 'query',
  param: 'path',
  header: 'header',
  cookie: 'header',
}

/** A zod failure as a domain validation error: one issue per problem, a summary of the first. */
export const validationError = (error: ZodError, target: Target) => {
  const issues: Issue[] = error.issues.map((i) => ({
    path: i.path.map((k) => (typeof k === 'symbol' ? String(k) : k)),
    message: i.message,
    in: LOCATION[target],
  }))
  const [first] = issues
  const summary = first ? describeIssue(first) : 'The request is not valid'
  return new AppError('VALIDATION_FAILED', summary, { issues })
}

/** `inviteeEmail is required`, `scopeRoleMapping.API must be a string`. */
const describeIssue = (i: Issue) => (i.path.length ? `${i.path.join('.')} ${i.message}` : `Request body ${i.message}`)
