import { readFile } from 'node:fs/promises'
import { UserError, EXIT } from '../errors.js'
import type { Recipe } from '../recipe/schema.js'
import { checkUserData } from './user-data.js'
import { fill, fillDeep, TemplateError, type TemplateVars } from './template.js'
import type { DriveContent } from './drive.js'

/**
 * The recipe's user data as text: inline, or read from user_data_file and validated
 * the same way, before anything touches XAPI (a bad file creates nothing).
 */
export async function loadUserData(recipe: Recipe): Promise<string | undefined> {
  const ci = recipe.cloud_init
  if (!ci) return undefined
  if (ci.user_data_file === undefined) return ci.user_data
  let text: string
  try {
    text = await readFile(ci.user_data_file, 'utf8')
  } catch (e) {
    throw new UserError({
      what: `Cannot read cloud_init.user_data_file ${ci.user_data_file}`,
      why: (e as Error).message,
      fix: 'check the path (relative to the recipe) and permissions',
      exitCode: EXIT.badRecipe,
    })
  }
  const problem = checkUserData(text)
  if (problem)
    throw new UserError({
      what: `cloud_init.user_data_file ${ci.user_data_file} is not usable user data`,
      why: `it ${problem}`,
      fix: 'start it with "#cloud-config" (YAML), or build a MIME multipart file with cloud-init devel make-mime',
      exitCode: EXIT.badRecipe,
    })
  return text
}

/** One VM's drive content: templated strings, and meta-data defaults (instance-id: VM uuid, local-hostname: name). */
export function driveContent(recipe: Recipe, userData: string | undefined, vars: TemplateVars, vmUuid: string): DriveContent {
  const ci = recipe.cloud_init!
  try {
    return {
      datasource: ci.datasource,
      metaData: { 'instance-id': vmUuid, 'local-hostname': vars.name, ...fillDeep(ci.meta_data, vars, 'cloud_init.meta_data') },
      userData: userData === undefined ? undefined : fill(userData, vars, 'cloud_init.user_data'),
      networkConfig: ci.network_config ? fillDeep(ci.network_config as Record<string, unknown>, vars, 'cloud_init.network_config') : undefined,
    }
  } catch (e) {
    if (e instanceof TemplateError)
      throw new UserError({ what: 'A cloud-init template cannot be filled', why: e.message, fix: 'remove {ip}, or give the VM an address from a fleet address pool', exitCode: EXIT.badRecipe })
    throw e
  }
}

/** The recipe's xenstore keys, templated the same way. */
export function xenstoreContent(recipe: Recipe, vars: TemplateVars): Record<string, string> {
  return fillDeep(recipe.xenstore, vars, 'xenstore')
}
