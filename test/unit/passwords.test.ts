import { describe, expect, it } from 'vitest'
import { hashPassword, PBKDF2_ITERATIONS, passwordProblem, verifyPassword } from '../../src/auth/passwords'

describe('password hashing', () => {
  it('stays inside the production Workers limit of 100,000 PBKDF2 iterations', async () => {
    expect(PBKDF2_ITERATIONS).toBeLessThanOrEqual(100_000)
    const stored = await hashPassword('Sup3r-secret')
    const [, iterations] = stored.split('$')
    expect(Number(iterations)).toBeLessThanOrEqual(100_000)
  })

  it('salts, verifies, and refuses wrong passwords', async () => {
    const a = await hashPassword('Sup3r-secret')
    const b = await hashPassword('Sup3r-secret')
    expect(a).not.toBe(b)
    expect(await verifyPassword('Sup3r-secret', a)).toEqual({ ok: true, needsRehash: false })
    expect((await verifyPassword('Sup3r-secreT', a)).ok).toBe(false)
    expect((await verifyPassword('anything', null)).ok).toBe(false)
    expect((await verifyPassword('anything', 'garbage$hash')).ok).toBe(false)
  })

  it('applies the pepper and asks for a rehash when the pepper changes', async () => {
    const plain = await hashPassword('Sup3r-secret')
    expect(await verifyPassword('Sup3r-secret', plain, 'pepper')).toEqual({ ok: true, needsRehash: true })
    const peppered = await hashPassword('Sup3r-secret', 'pepper')
    expect(peppered).toMatch(/^pbkdf2-sha256-pepper\$/)
    expect((await verifyPassword('Sup3r-secret', peppered, 'pepper')).ok).toBe(true)
    expect((await verifyPassword('Sup3r-secret', peppered, 'other')).ok).toBe(false)
    expect((await verifyPassword('Sup3r-secret', peppered)).ok).toBe(false)
  })

  it('asks for a rehash of weaker stored parameters', async () => {
    const weak = await hashPassword('Sup3r-secret', undefined, 1000)
    expect(await verifyPassword('Sup3r-secret', weak)).toEqual({ ok: true, needsRehash: true })
  })

  it('enforces the password rules with a message per rule', () => {
    expect(passwordProblem('Aa1!')).toMatch(/at least 8/)
    expect(passwordProblem('abcdefg1!')).toMatch(/uppercase/)
    expect(passwordProblem('ABCDEFG1!')).toMatch(/lowercase/)
    expect(passwordProblem('Abcdefgh!')).toMatch(/digit/)
    expect(passwordProblem('Abcdefgh1')).toMatch(/special/)
    expect(passwordProblem('Abcdefg 1~')).toMatch(/special/)
    expect(passwordProblem(`Aa1!${'x'.repeat(130)}`)).toMatch(/at most 128/)
    expect(passwordProblem('Abcdefg1!')).toBeNull()
  })
})
