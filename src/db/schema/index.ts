export * from './access'
export * from './activity'
export * from './organizations'
export * from './users'
