import type { Store } from './store.js'
import type { SparseDisk } from './sparse-disk.js'
import type { Faults } from './faults.js'

export type PygrubFlavour = 'upstream' | 'xcp-ng'

export interface Credentials {
  user: string
  password: string
}

/** Simulator-wide state that is not in XAPI's database. */
export interface SimState {
  store: Store
  credentials: Credentials
  pool: string
  host: string
  /** VDI ref -> contents. */
  disks: Map<string, SparseDisk>
  pygrub: PygrubFlavour
  /** Every RPC received, in order: lets tests assert on the exact call sequence. */
  callLog: { method: string; at: number }[]
  /** Set by close(): long-polls return at once. */
  closing: boolean
  lastDomid: number
  faults: Faults
}
