import type { Recipe } from '../recipe/schema.js'
import { UserError, EXIT } from '../errors.js'
import { capabilitiesOf, releaseName } from '../provision/capabilities.js'
import { checkRunnable } from '../provision/runnable.js'

export interface SimProfileChoice {
  name: string
  release: string
  /** Shown on stderr: which release is simulated, and why that one. */
  note: string
}

/**
 * `--host sim` simulates the newest release that can run the recipe (a PV recipe gets a
 * release that still runs PV), judged by the same capability table as a real host;
 * `--sim-profile` picks one, which may then refuse the recipe exactly as that release would.
 */
export async function chooseSimProfile(recipe: Recipe, kernelBits: 32 | 64 | null, wanted: string | undefined): Promise<SimProfileChoice> {
  const { PROFILES, PROFILE_NAMES } = await import('../../mocks/profiles.js')
  const facts = (p: (typeof PROFILES)[number]): Parameters<typeof capabilitiesOf>[0] => ({
    host: { name_label: p.name, software_version: p.software_version, API_version_major: p.api.major, API_version_minor: p.api.minor, capabilities: p.capabilities },
    poolHasUefiCertificates: false,
  })
  if (wanted !== undefined) {
    const p = PROFILES.find((x) => x.name === wanted)
    if (!p) throw new UserError({ what: `No simulator profile "${wanted}"`, why: `profiles: ${PROFILE_NAMES.join(', ')}`, fix: 'pass --sim-profile with one of those', exitCode: EXIT.usage })
    return { name: p.name, release: releaseName(p.software_version), note: `simulating ${releaseName(p.software_version)} (--sim-profile ${p.name})` }
  }
  const newestFirst = [...PROFILES].sort((a, b) => b.released.localeCompare(a.released))
  const fit = newestFirst.find((p) => checkRunnable(recipe, capabilitiesOf(facts(p)), p.name, kernelBits).refusal === null)
  const p = fit ?? newestFirst[0]!
  const newest = newestFirst[0]!
  const why = p === newest ? 'the newest simulated release' : `the newest simulated release that runs this ${recipe.boot.mode} recipe (${releaseName(newest.software_version)} would refuse it)`
  return { name: p.name, release: releaseName(p.software_version), note: `simulating ${releaseName(p.software_version)} (profile ${p.name}): ${why}; --sim-profile picks another` }
}
