import { z } from 'zod'

/**
 * How the guest boots (docs/recipe.md "Boot modes"):
 * - `pv`: the HOWTO's path, pygrub reads the kernel from the disk (XCP 1.x to XCP-ng 8.2 only);
 * - `hvm`: emulated firmware, BIOS or UEFI, boots the disk like a PC (every release);
 * - `pvh`: pygrub as for pv, in an HVM container without QEMU (experimental on XCP-ng 8.3).
 */
const Pv = z.object({ mode: z.literal('pv') }).strict()

const Hvm = z
  .object({
    mode: z.literal('hvm'),
    firmware: z.enum(['bios', 'uefi']).default('bios').describe('HVM-boot-params:firmware'),
    secure_boot: z
      .union([z.boolean(), z.literal('auto')])
      .default(false)
      .describe('platform:secureboot; "auto" turns it on when the pool has UEFI certificates (XAPI decides at VM.start)'),
    // XAPI hands the letters to the firmware: c = first disk, d = CD, n = network.
    order: z
      .string()
      .regex(/^[cdn]{1,3}$/, 'must be letters c (disk), d (CD), n (network), e.g. "c" or "cdn"')
      .default('c')
      .describe('HVM-boot-params:order; "c" boots the uploaded disk first'),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.secure_boot !== false && b.firmware === 'bios') {
      ctx.addIssue({ code: 'custom', path: ['secure_boot'], message: 'needs firmware: uefi (Secure Boot is a UEFI feature)' })
    }
  })

const Pvh = z.object({ mode: z.literal('pvh') }).strict()

export const BootSchema = z.discriminatedUnion('mode', [Pv, Hvm, Pvh]).default({ mode: 'pv' }).describe('pv (default, the HOWTO), hvm (BIOS or UEFI firmware) or pvh (experimental on XCP-ng)')
export type Boot = z.infer<typeof BootSchema>
export type BootMode = Boot['mode']

/**
 * Keys merged into the template's VM.platform; null removes a key (xe vm-param-remove),
 * e.g. `viridian: null` for a non-Windows guest on a template that sets it.
 */
export const PlatformSchema = z
  .record(z.string().min(1), z.union([z.string(), z.null()]))
  .default({})
  .describe('VM.platform keys to set (string) or remove (null), merged over the template and the boot mode')
