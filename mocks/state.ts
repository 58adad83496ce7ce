import type { Store } from './store.js'
import type { SparseDisk } from './sparse-disk.js'
import type { Faults } from './faults.js'
import type { Profile } from './profiles.js'

export type PygrubFlavour = 'upstream' | 'xcp-ng'
export type Transport = 'xml-rpc' | 'json-rpc' | 'in-process'

export interface Credentials {
  user: string
  password: string
}

/**
 * What the HVM firmware did after a VM.start (classes/vm-boot.ts): the device it booted
 * and the chain it loaded, or why it found nothing; `log` is its console output.
 */
export interface FirmwareBoot {
  firmware: 'bios' | 'uefi'
  booted: boolean
  device: string | null
  chain: string[]
  reason: string | null
  log: string[]
  at: number
}

/** Simulator-wide state that is not in XAPI's database. */
export interface SimState {
  store: Store
  credentials: Credentials
  pool: string
  /** The host this listener is: a pool's members share everything else. */
  host: string
  /** VDI ref -> contents. */
  disks: Map<string, SparseDisk>
  pygrub: PygrubFlavour
  /** The simulated release: what its domain builder refuses (classes/vm-domain.ts). */
  profile: Profile
  /** Every RPC received, in order: lets tests assert on the exact call sequence. */
  callLog: { method: string; at: number; transport: Transport }[]
  /** Shared by every listener of the pool, hence an object rather than fields copied per host. */
  life: {
    /** Set by close(): long-polls return at once. */
    closing: boolean
    lastDomid: number
  }
  faults: Faults
  /** Every raw VDI transfer (PUT /import_raw_vdi, GET /export_raw_vdi), with the host that answered and its status. */
  transferLog: { method: string; path: string; host: string; status: number }[]
  /** host ref -> the PEM certificate it serves HTTPS with (hosts without TLS are absent). */
  certificates: Map<string, string>
  /** VM ref -> every firmware boot of that VM, oldest first (HVM only): the simulated console. */
  consoles: Map<string, FirmwareBoot[]>
}
