import { z } from 'zod'
import { parseSize } from './size.js'
import { MAC_PATTERN } from '../select/mac.js'
import { BootSchema, PlatformSchema } from './boot.js'
import { CloudInitSchema, XenstoreSchema } from './cloud-init.js'

export { type Boot } from './boot.js'

/** A byte count or a binary-unit size ("11GiB"), as bytes; shared with the fleet schema. */
export const SizeSchema = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const r = parseSize(v)
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r })
    return z.NEVER
  }
  return r
})
const size = SizeSchema

/**
 * The one rule for a VM name-label, wherever it comes from (recipe, --name, a fleet
 * file): 1 to 255 characters, and no control characters (C0, DEL, C1) or bidi
 * overrides. A name is echoed on terminals and in logs and matched again by later runs
 * (leftovers, resume); an escape sequence in it would rewrite the terminal, and a
 * newline would forge a line of output.
 */
export const VmNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .refine((n) => !/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(n), 'must not contain control characters (newlines, tabs, escape sequences) or bidi overrides')

const MiB = 1024 * 1024

export const MemorySchema = z
  .object({
    static_min: size.describe('memory-static-min, e.g. 128MiB'),
    static_max: size.describe('memory-static-max'),
    dynamic_min: size.describe('memory-dynamic-min'),
    dynamic_max: size.describe('memory-dynamic-max'),
  })
  .strict()
  .superRefine((m, ctx) => {
    // XAPI's rule with DMC: static_min <= dynamic_min <= dynamic_max <= static_max.
    if (!(m.static_min <= m.dynamic_min && m.dynamic_min <= m.dynamic_max && m.dynamic_max <= m.static_max)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must satisfy static_min <= dynamic_min <= dynamic_max <= static_max (XAPI refuses anything else)',
      })
    }
    if (m.static_min < 16 * MiB) ctx.addIssue({ code: 'custom', path: ['static_min'], message: 'is below 16 MiB, too small to boot' })
  })

export const RecipeSchema = z
  .object({
    name: VmNameSchema.describe('Default VM name-label (--name overrides it)'),
    description: z.string().default('').describe('VM name-description'),
    image: z.string().min(1).optional().describe('Raw disk image, relative to this file (--image overrides it)'),
    sr: z
      .object({
        name_label: z.string().min(1).default('Local storage'),
        uuid: z.uuid().optional().describe('Pick this SR when several share the name-label'),
        host: z.string().min(1).optional().describe('With several SRs of that name (one "Local storage" per host), use the one on this host (name-label); default: the pool master'),
      })
      .strict()
      .default({ name_label: 'Local storage' }),
    vdi: z
      .object({
        name_label: z.string().min(1).default('{name}-vdi').describe('"{name}" is replaced by the VM name'),
        virtual_size: size.describe('Virtual size of the disk, e.g. 11GiB'),
        type: z.enum(['system', 'user']).default('system'),
      })
      .strict(),
    template: z.string().min(1).default('Other install media'),
    memory: MemorySchema,
    vcpus: z.number().int().min(1).max(64).default(1).describe('VCPUs-max and VCPUs-at-startup'),
    boot: BootSchema,
    pv: z
      .object({
        bootloader: z.enum(['pygrub']).default('pygrub'),
        bootloader_args: z.string().default('').describe('PV-bootloader-args, e.g. --kernel=/boot/kernel/kernel'),
        args: z.string().default('').describe('PV-args: kernel arguments such as vfs.root.mountfrom=ufs:/dev/xbd0s1a'),
      })
      .strict()
      .default({ bootloader: 'pygrub', bootloader_args: '', args: '' })
      .describe('pygrub settings of boot.mode pv and pvh; ignored by hvm'),
    platform: PlatformSchema,
    other_config: z.record(z.string().min(1), z.string()).default({}).describe('Keys set with remove-then-add, as xe does'),
    network: z
      .object({
        bridge: z.string().min(1).default('xenbr0'),
        device: z.string().regex(/^\d+$/, 'must be a VIF device number such as "0"').default('0'),
        mac: z
          .union([z.literal('derived'), z.string().regex(MAC_PATTERN, 'must be six colon-separated hex bytes, e.g. 00:16:3e:12:34:56')])
          .default('derived')
          .describe('"derived": 00:16:3e plus three bytes of a hash of the VM name'),
      })
      .strict()
      .default({ bridge: 'xenbr0', device: '0', mac: 'derived' }),
    disk: z
      .object({
        device: z.string().regex(/^\d+$/, 'must be a VBD userdevice number such as "0"').default('0'),
        bootable: z.boolean().default(true),
        mode: z.enum(['RW', 'RO']).default('RW'),
        type: z.enum(['Disk']).default('Disk'),
      })
      .strict()
      .default({ device: '0', bootable: true, mode: 'RW', type: 'Disk' }),
    start: z.boolean().default(true),
    cloud_init: CloudInitSchema.optional().describe('A config drive for cloud-init / nuageinit, built and attached before start (docs/first-boot.md)'),
    xenstore: XenstoreSchema,
  })
  .strict()
  .superRefine((r, ctx) => {
    // An HVM guest has no PV kernel: pv settings there are a mistake worth naming.
    if (r.boot.mode === 'hvm' && (r.pv.bootloader_args !== '' || r.pv.args !== '')) {
      ctx.addIssue({ code: 'custom', path: ['pv'], message: 'is for boot.mode pv or pvh; an hvm guest boots from its firmware (remove pv, or set boot.mode: pv)' })
    }
  })

export type Recipe = z.infer<typeof RecipeSchema>
export type RecipeInput = z.input<typeof RecipeSchema>
