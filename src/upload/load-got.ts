import type * as Got from 'got'

let loading: Promise<typeof Got> | undefined

/**
 * got and its dependencies, loaded at the first transfer rather than when the CLI starts:
 * their top level is ~20 ms that would come before a provision's first XAPI request
 * (docs/design.md, "Start-up").
 */
export const loadGot = (): Promise<typeof Got> => (loading ??= import('got'))
