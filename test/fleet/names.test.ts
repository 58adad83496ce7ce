import { describe, expect, it } from 'vitest'
import { expandNames, MAX_NAMES_PER_PATTERN } from '../../src/fleet/names.js'

describe('VM name patterns', () => {
  it('pads to the width of a bound written with a leading zero', () => {
    expect(expandNames('web-{01..12}')).toEqual(['web-01', 'web-02', 'web-03', 'web-04', 'web-05', 'web-06', 'web-07', 'web-08', 'web-09', 'web-10', 'web-11', 'web-12'])
    expect(expandNames('n{8..10}')).toEqual(['n8', 'n9', 'n10'])
    expect(expandNames('n{001..2}')).toEqual(['n001', 'n002'])
  })

  it('multiplies several ranges and mixes names with patterns in a list', () => {
    expect(expandNames('r{1..2}-web{1..3}')).toEqual(['r1-web1', 'r1-web2', 'r1-web3', 'r2-web1', 'r2-web2', 'r2-web3'])
    expect(expandNames(['db', 'web-{1..2}', 'cache'])).toEqual(['db', 'web-1', 'web-2', 'cache'])
  })

  it('refuses what is most likely a typo', () => {
    expect(() => expandNames('web-{10..1}')).toThrow('runs backwards')
    expect(() => expandNames('web-{a,b}')).toThrow('braces must hold a range')
    expect(() => expandNames(['web-1', 'web-{1..2}'])).toThrow('"web-1" appears twice')
    expect(() => expandNames(`web-{1..${MAX_NAMES_PER_PATTERN + 1}}`)).toThrow(`more than ${MAX_NAMES_PER_PATTERN} names`)
  })
})
