import { z } from '@hono/zod-openapi'
import { startCheckout } from '../../domain/billing'
import { savePushSubscription } from '../../domain/notifications'
import { principalOf } from '../../http/authenticate'
import { createRouter } from '../../http/router'
import { rpcAction } from './action'

const Url = z.string().max(2048).openapi({ format: 'uri' })

export const subscriptions = createRouter()
  .openapi(
    rpcAction({
      name: 'saveSubscription',
      tag: 'Notifications',
      summary: "Save the browser's Web Push subscription for the caller",
      description: 'Any signed-in user; a new subscription replaces the earlier one.',
      body: z
        .object({
          subscription: z.object({
            endpoint: Url,
            keys: z.object({ p256dh: z.string().min(1).max(256), auth: z.string().min(1).max(256) }),
          }),
        })
        .openapi({
          example: {
            subscription: {
              endpoint: 'https://push.example.com/send/abc',
              keys: { p256dh: 'BNc...', auth: 'tBH...' },
            },
          },
        }),
      response: z.object({ subscription: z.object({ complete: z.boolean() }) }).openapi('SubscriptionSaved'),
      example: { subscription: { complete: true } },
      answers: 'Subscription saved successfully.',
      errors: [403],
    }),
    async (c) => {
      await savePushSubscription(c.var.deps, principalOf(c), c.req.valid('json').subscription)
      return c.json({ subscription: { complete: true } }, 200)
    },
  )
  .openapi(
    rpcAction({
      name: 'provisionSubscription',
      tag: 'Billing',
      summary: 'Start a Stigg checkout for a plan (503 when billing is not configured)',
      description:
        "ADMIN and DEVELOPER. The customer must be the organization's own; the return URLs must be on APP_ORIGIN or an allowed origin.",
      body: z
        .object({
          customerId: z.string().max(200).openapi({ description: "The organisation's billing customer id" }),
          planId: z.string().max(200),
          billingPeriod: z.string().max(20).openapi({ description: 'monthly or annual' }),
          successUrl: Url,
          cancelUrl: Url,
        })
        .openapi({
          example: {
            customerId: 'A1B2C3D4E5',
            planId: 'plan-pro',
            billingPeriod: 'monthly',
            successUrl: 'https://dash.example.com/billing/done',
            cancelUrl: 'https://dash.example.com/billing',
          },
        }),
      response: z
        .object({ checkoutResult: z.object({ checkoutUrl: z.string().nullable(), status: z.string() }) })
        .openapi('Checkout'),
      example: { checkoutResult: { checkoutUrl: 'https://checkout.stigg.io/...', status: 'PAYMENT_REQUIRED' } },
      answers: 'Checkout session created.',
      errors: [403, 404, 503],
    }),
    async (c) => c.json({ checkoutResult: await startCheckout(c.var.deps, principalOf(c), c.req.valid('json')) }, 200),
  )
