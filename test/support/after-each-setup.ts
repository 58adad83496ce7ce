import { afterEach } from 'vitest'
import { runCleanups } from './after-each.js'

// Registered once per test file (see after-each.ts for why helpers do not call afterEach).
afterEach(runCleanups)
