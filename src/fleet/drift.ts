import type { Recipe } from '../recipe/schema.js'
import type { VifRecord, VmDetailRecord } from '../xapi/records.js'
import { compareSettings } from '../provision/settings.js'
import type { Drift } from './types.js'

export { bootOf, NEEDS_HALT, NEEDS_REPLACE } from '../provision/settings.js'

/**
 * What an existing fleet VM has that the fleet does not want, each difference marked as the
 * file's change or the pool's drift: provision's own comparison (src/provision/settings.ts),
 * so a single `provision` of the VM would say the same.
 */
export function driftOf(vm: VmDetailRecord, vifs: readonly VifRecord[], recipe: Recipe): Drift[] {
  return compareSettings(vm, vifs, recipe)
}
