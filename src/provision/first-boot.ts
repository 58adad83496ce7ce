import type { Probe } from '../wait/probes.js'
import type { BootRecord } from '../wait/diagnose.js'

/** What a run needs for the first boot, settled before any change (run.ts). */
export interface FirstBoot {
  /** The recipe's user data (inline or from its file), validated, before templating. */
  userData: string | undefined
  /** --wait probes; empty: the run ends when VM.start returns. */
  probes: Probe[]
  timeoutMs: number
  agentGraceMs?: number | undefined
  /** The VM's index in a fleet ({index}); 0 for a single provision. */
  index: number
  /** The static address a fleet's address pool gave the VM ({ip}); none for a single provision. */
  ip?: string | undefined
  /** --host sim only: the firmware emulation's record of the VM's last boot. */
  bootConsole?: ((vm: string) => BootRecord | undefined) | undefined
}

/** Default --wait-timeout: a cloud image's first boot with cloud-init takes one to a few minutes. */
export const DEFAULT_WAIT_TIMEOUT_MS = 600_000

/**
 * Set on the config drive's VDI: the VM name it was made for (markOf), so a run killed
 * before the VM got its name leaves a drive the next run recognises (leftovers.ts). A
 * key of its own, not the boot disk's VM_KEY, so an unfinished upload is never mistaken
 * for the drive or the drive for one (partial-vdi.ts).
 */
export const DRIVE_KEY = 'xcp-provision:config-drive'
