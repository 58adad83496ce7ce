import { z } from 'zod'
import { checkUserData } from '../cloud-init/user-data.js'

/**
 * The recipe's `cloud_init`: what goes on the config drive the guest reads at first boot
 * (docs/first-boot.md). Strings may hold {name}, {index}, {mac} and {ip}, replaced per VM
 * (src/cloud-init/template.ts) after this validation.
 */
const NetworkConfigSchema = z
  .looseObject({
    version: z.union([z.literal(1), z.literal(2)]).describe('cloud-init network config version: 1 (list of interfaces) or 2 (netplan)'),
  })
  .superRefine((n, ctx) => {
    // The part every consumer reads first: v1 is a list under `config`, v2 maps under `ethernets` (or bonds, vlans…).
    if (n.version === 1 && !Array.isArray(n.config))
      ctx.addIssue({ code: 'custom', path: ['config'], message: 'version 1 needs a list of interfaces under config (e.g. [{type: physical, name: eth0, subnets: [{type: dhcp}]}])' })
    if (n.version === 2 && !['ethernets', 'bonds', 'bridges', 'vlans', 'wifis'].some((k) => k in n)) {
      ctx.addIssue({ code: 'custom', message: 'version 2 needs ethernets (or bonds, bridges, vlans)' })
    }
  })

export const CloudInitSchema = z
  .object({
    user_data: z.string().optional().describe('User data inline: "#cloud-config" YAML or a MIME multipart message'),
    user_data_file: z.string().min(1).optional().describe('User data from a file, relative to the recipe (instead of user_data)'),
    network_config: NetworkConfigSchema.optional().describe('cloud-init network config, version 1 or 2; written as network-config'),
    meta_data: z.record(z.string().min(1), z.string()).default({}).describe('Extra meta-data keys; instance-id and local-hostname default to the VM uuid and name'),
    datasource: z.enum(['nocloud', 'configdrive']).default('nocloud').describe('nocloud: FAT labelled cidata; configdrive: OpenStack ConfigDrive v2, FAT labelled config-2'),
    remove_after: z.enum(['never', 'ready']).default('never').describe('ready: detach and destroy the drive once --wait is satisfied'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.user_data !== undefined && c.user_data_file !== undefined) ctx.addIssue({ code: 'custom', path: ['user_data_file'], message: 'give user_data or user_data_file, not both' })
    if (c.user_data !== undefined) {
      const problem = checkUserData(c.user_data)
      if (problem) ctx.addIssue({ code: 'custom', path: ['user_data'], message: problem })
    }
    // ConfigDrive's network_data.json is OpenStack's own format, not cloud-init's v1/v2.
    if (c.datasource === 'configdrive' && c.network_config)
      ctx.addIssue({ code: 'custom', path: ['network_config'], message: 'is written only on a nocloud drive (ConfigDrive wants OpenStack network_data.json); use datasource: nocloud' })
  })

export type CloudInit = z.infer<typeof CloudInitSchema>

/** Keys the guest can read with xenstore-read before any agent or network: agentless bootstrap. */
export const XenstoreSchema = z
  .record(z.string().regex(/^vm-data\/[A-Za-z0-9_./-]+$/, 'must be a key under vm-data/ (e.g. vm-data/role): only those are readable by the guest'), z.string())
  .default({})
  .describe('VM.xenstore_data set before start; values may hold {name}, {index}, {mac}, {ip}')
