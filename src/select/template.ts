import type { VmRecord } from '../xapi/records.js'
import { chosen, refused, type Choice, type Picked } from './choice.js'

type TemplateFields = Pick<VmRecord, 'uuid' | 'name_label' | 'is_a_template' | 'is_a_snapshot' | 'is_control_domain'>

/** A template a VM can be installed from: not a snapshot (snapshots are templates too), not dom0. */
export const isInstallTemplate = (v: TemplateFields): boolean => v.is_a_template && !v.is_a_snapshot && !v.is_control_domain

/**
 * Exactly one installable template with this exact name-label, as vm-install requires.
 * `vms` may hold any VMs (a pool's, or just those VM.get_by_name_label returned).
 */
export function templateByName<R extends TemplateFields>(vms: Record<string, R>, name: string): Choice<Picked<R>> {
  const hits = Object.entries(vms).filter(([, v]) => isInstallTemplate(v) && v.name_label === name)
  if (hits.length === 1) return chosen({ ref: hits[0]![0], record: hits[0]![1] })
  if (hits.length === 0) {
    return refused({
      code: 'not-found',
      what: `No template named "${name}"`,
      why: 'no template has that exact name-label (names are exact and case-sensitive)',
      fix: 'set template in the recipe to an existing template (xe template-list params=name-label)',
    })
  }
  return refused({
    code: 'ambiguous',
    what: `${hits.length} templates are named "${name}"`,
    why: `candidates: ${hits.map(([, v]) => v.uuid).join(', ')}`,
    fix: 'rename the extra templates',
  })
}
