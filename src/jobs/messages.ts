import { z } from 'zod'

/** Job types the consumer knows. Each message names its job row; the row holds the payload. */
export const JOB_TYPES = [
  'purgeExpired',
  'sendEmail',
  'applyAccessType',
  'resetCollectionAccessTypes',
  'refreshUsage',
  'syncPrincipals',
] as const
export type JobType = (typeof JOB_TYPES)[number]

/** An email travels in the message, not in the job row, which would keep its links at rest. */
export const EmailMessage = z.object({ to: z.string(), subject: z.string(), text: z.string() })
export type EmailMessage = z.infer<typeof EmailMessage>

export const JobMessage = z.object({
  jobId: z.string().min(1),
  type: z.enum(JOB_TYPES),
  email: EmailMessage.optional(),
})
export type JobMessage = z.infer<typeof JobMessage>
