import { expect } from 'vitest'
import { api } from '.'

export const JSON_API = 'application/vnd.api+json'

export type ErrorObject = {
  status: string
  code: string
  title: string
  detail: string
  source: { pointer?: string; parameter?: string; header?: string }
}

/** A request with a JSON:API body (of media type `type`), or without a body. */
export const send = (method: string, path: string, headers: Record<string, string>, body?: unknown, type = JSON_API) =>
  api(path, {
    method,
    headers: { ...(body === undefined ? {} : { 'Content-Type': type }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })

/** An error answer: its status, the JSON:API media type, and error objects in the full shape. */
export const expectErrors = async (res: Response, status: number, code?: string) => {
  const text = await res.clone().text()
  expect(res.status, text).toBe(status)
  expect(res.headers.get('content-type')).toBe(JSON_API)
  const { errors } = await res.json<{ errors: ErrorObject[] }>()
  expect(errors.length).toBeGreaterThan(0)
  for (const e of errors)
    expect(e).toEqual({
      status: String(status),
      code: code ?? expect.any(String),
      title: expect.any(String),
      detail: expect.any(String),
      source: expect.any(Object),
    })
  return errors
}
