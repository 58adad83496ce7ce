import { z } from 'zod'
import { parseProbe } from '../wait/probes.js'

/** Default of a group's wait.timeout, in seconds: provision's --wait-timeout default. */
export const DEFAULT_GROUP_WAIT_S = 600

const probes = z
  .union([z.string(), z.array(z.string()).min(1)])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .superRefine((list, ctx) => {
    list.forEach((text, i) => {
      const p = parseProbe(text)
      if (typeof p === 'string') ctx.addIssue({ code: 'custom', path: [i], message: `${p} (as provision --wait)` })
    })
  })

/**
 * A group's `wait`: the probes of provision --wait (ip[=CIDR] | agent | vm-data:key[=value]
 * | tcp:port), all of which must hold before a VM counts as ready, and the timeout in
 * seconds. A bare probe or list is short for { probes: … } with the default timeout.
 */
export const GroupWaitSchema = z
  .union([
    z
      .object({
        probes: probes.describe('What must hold: ip, ip=CIDR, agent, vm-data:<key>[=<value>], tcp:<port>'),
        timeout: z.number().positive().default(DEFAULT_GROUP_WAIT_S).describe('Seconds each VM may take to become ready (default 600)'),
      })
      .strict(),
    probes.transform((p) => ({ probes: p, timeout: DEFAULT_GROUP_WAIT_S })),
  ])
  .describe("Wait for each VM's guest after start, as provision --wait; the VM is ready (and its wave may end) once every probe holds")

export type GroupWait = z.infer<typeof GroupWaitSchema>
