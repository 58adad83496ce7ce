/**
 * How a run marks what it is building, so that a run killed at any point (kill -9, a
 * crash, a reboot) leaves objects the next run of the same VM name recognises without
 * guessing, and nothing else is ever taken for them.
 */

/** The VM's name from its clone until the run's last step renames it: nothing else is ever called that. */
export const buildingName = (vmName: string): string => `${vmName} [xcp-provision: incomplete]`

/** Set on the VDI at creation and removed by the last step, for the same reason. */
export const INCOMPLETE_KEY = 'xcp-provision:incomplete'

/** Every VDI provision creates carries the VM name it was made for (markOf). */
export const VM_KEY = 'xcp-provision:vm'

/**
 * Characters a name cannot be trusted to keep on its way to XAPI and back: XML-RPC
 * drops C0 controls but tab, LF and CR, XML parsers turn CR into LF, and C1 controls,
 * lone surrogates and U+FFFE/U+FFFF are not XML characters either. A leading quote is
 * reserved for the escaped form below.
 */
const FRAGILE = /[\u0000-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|^"/

/**
 * The value of VM_KEY for a VM name: the name itself when every character survives the
 * wire, else its JSON form (ASCII escapes, starting with a quote, which no plain mark
 * does). The same name always gives the same mark, and two names never share one, so
 * resume and leftover lookups match by comparing marks, whatever the name holds.
 */
export const markOf = (vmName: string): string => (FRAGILE.test(vmName) ? JSON.stringify(vmName).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : vmName)

export const isMarkedFor = (otherConfig: Record<string, string>, vmName: string): boolean => otherConfig[VM_KEY] === markOf(vmName)
