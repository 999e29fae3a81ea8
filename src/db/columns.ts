import { integer, text } from 'drizzle-orm/sqlite-core'

/** Creation and update times in epoch milliseconds, filled in by the application. */
export const timestamps = () => ({
  createdAt: integer({ mode: 'timestamp_ms' })
    .notNull()
    .$defaultFn(() => new Date()),
  updatedAt: integer({ mode: 'timestamp_ms' })
    .notNull()
    .$defaultFn(() => new Date())
    .$onUpdateFn(() => new Date()),
})

/** Who created and last changed a row: a user's public id, or null for root and the system. */
export const authorship = () => ({
  createdBy: text(),
  updatedBy: text(),
})

/** A JSON value kept in a TEXT column. */
export const json = <T>(name?: string) => (name ? text(name, { mode: 'json' }) : text({ mode: 'json' })).$type<T>()
