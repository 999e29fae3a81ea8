import { z } from '@hono/zod-openapi'
import { confirmTotp, disableTotp, startTotp } from '../../domain/mfa'
import { principalOf } from '../../http/authenticate'
import { createRouter } from '../../http/router'
import { restRoute } from './route'

const Code = z
  .object({
    code: z.string().max(16).openapi({ description: 'The current 6-digit code of the app', example: '123456' }),
  })
  .strict()
  .openapi({ example: { code: '123456' } })

export const myMfa = createRouter()
  .openapi(
    restRoute({
      method: 'post',
      path: '/me/mfa/totp',
      operationId: 'startMyTotp',
      tag: 'Me · Two-factor',
      summary: 'Start TOTP enrolment',
      description:
        'A new TOTP secret (RFC 6238: SHA-1, 6 digits, 30 seconds) and its otpauth:// URL for a QR code. It counts only once confirmed with a code; if a second factor is already on, turn it off first (409).',
      status: 200,
      response: z
        .object({ secret: z.string().openapi({ description: 'Base32' }), otpauthUrl: z.string() })
        .openapi('TotpEnrolment'),
      example: {
        secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
        otpauthUrl:
          'otpauth://totp/edge-iam%3Aalice%40example.com?secret=JBSW…&issuer=edge-iam&algorithm=SHA1&digits=6&period=30',
      },
      errors: [403, 409],
    }),
    async (c) => c.json(await startTotp(c.var.deps, principalOf(c)), 200),
  )
  .openapi(
    restRoute({
      method: 'post',
      path: '/me/mfa/totp/verify',
      operationId: 'confirmMyTotp',
      tag: 'Me · Two-factor',
      summary: 'Confirm TOTP enrolment',
      description:
        'Turns the second factor on with a current code, and answers ten recovery codes, shown only here (each signs in once when the app is lost).',
      body: Code,
      status: 200,
      response: z.object({ recoveryCodes: z.array(z.string()) }).openapi('RecoveryCodes'),
      example: { recoveryCodes: ['ABCDE-FGH23', 'JKLMN-PQR45'] },
      errors: [403, 409],
    }),
    async (c) => c.json(await confirmTotp(c.var.deps, principalOf(c), c.req.valid('json').code), 200),
  )
  .openapi(
    restRoute({
      method: 'delete',
      path: '/me/mfa/totp',
      operationId: 'disableMyTotp',
      tag: 'Me · Two-factor',
      summary: 'Turn TOTP off',
      description: 'Proven with a current code; the recovery codes and trusted devices go with it.',
      body: Code,
      status: 204,
      errors: [403],
    }),
    async (c) => {
      await disableTotp(c.var.deps, principalOf(c), c.req.valid('json').code)
      return c.body(null, 204)
    },
  )
