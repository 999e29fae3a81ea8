import { z } from 'zod'

/** Job types the consumer knows. Each message names its job row; the row holds the payload. */
export const JOB_TYPES = ['purgeExpired'] as const
export type JobType = (typeof JOB_TYPES)[number]

export const JobMessage = z.object({ jobId: z.string().min(1), type: z.enum(JOB_TYPES) })
export type JobMessage = z.infer<typeof JobMessage>
