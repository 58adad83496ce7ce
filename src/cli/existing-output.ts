import type { ExistingResult } from '../provision/existing.js'

const WORDS: Record<ExistingResult['state'], string> = {
  planned: 'dry run, nothing was changed',
  unchanged: 'already exists with these settings; nothing to do',
  updated: 'updated to the recipe',
  reconciled: 'changed back to the recipe',
  drift: 'differs from the recipe on the pool only (drift); left as is (--reconcile changes it back)',
}

/** Text for `provision` of a VM that is already there: what differs, who changed it, and what the run did. */
export function existingText(r: ExistingResult): string {
  const head = `VM "${r.vm.name}" (${r.vm.uuid}, ${r.vm.power_state}): ${WORDS[r.state]}.`
  const plan = r.dry_run
    ? [
        `  plan: ${r.action === 'none' ? 'nothing to do' : r.action === 'drift' ? 'report the drift, change nothing' : `${r.action} in place`}${r.disruptive ? ' [disruptive: halts the VM, then starts it again]' : ''}`,
      ]
    : []
  const lines = r.drift.flatMap((d) => [`  - ${d.field}: ${d.have}`, `  + ${d.field}: ${d.want}   (${d.kind === 'change' ? 'changed in the recipe' : 'drift on the pool'})`])
  return [head, ...plan, ...lines, ''].join('\n')
}
