import type { XapiConnection } from './connection.js'
import { VmDetailRecord, VmRecord, recordsOf } from './records.js'
import { parseAnswer } from './parse.js'

type X = XapiConnection

export const get_by_name_label = (x: X, label: string): Promise<string[]> => x.call('VM.get_by_name_label', label)
export const get_record = async (x: X, ref: string): Promise<VmRecord> => parseAnswer(VmRecord, await x.call('VM.get_record', ref), 'VM.get_record')
export const clone = (x: X, ref: string, name: string): Promise<string> => x.callAsync('VM.clone', ref, name)
/**
 * VM.clone without a task, for a template without disks: XAPI copies database records
 * and answers at once, so a task would only add event.from and task.destroy round trips.
 */
export const clone_sync = (x: X, ref: string, name: string): Promise<string> => x.call('VM.clone', ref, name)
export const get_uuid = (x: X, ref: string): Promise<string> => x.call('VM.get_uuid', ref)
/** An int64, which XML-RPC carries as a string. */
export const get_VCPUs_max = async (x: X, ref: string): Promise<number> => Number(await x.call<string>('VM.get_VCPUs_max', ref))
export const provision = (x: X, ref: string): Promise<void> => x.callAsync('VM.provision', ref)
export const set_name_description = (x: X, ref: string, v: string): Promise<void> => x.call('VM.set_name_description', ref, v)
export const get_other_config = (x: X, ref: string): Promise<Record<string, string>> => x.call('VM.get_other_config', ref)
export const add_to_other_config = (x: X, ref: string, k: string, v: string): Promise<void> => x.call('VM.add_to_other_config', ref, k, v)
export const remove_from_other_config = (x: X, ref: string, k: string): Promise<void> => x.call('VM.remove_from_other_config', ref, k)
export const set_HVM_boot_policy = (x: X, ref: string, v: string): Promise<void> => x.call('VM.set_HVM_boot_policy', ref, v)
export const set_HVM_boot_params = (x: X, ref: string, v: Record<string, string>): Promise<void> => x.call('VM.set_HVM_boot_params', ref, v)
export const set_PV_bootloader = (x: X, ref: string, v: string): Promise<void> => x.call('VM.set_PV_bootloader', ref, v)
export const set_PV_bootloader_args = (x: X, ref: string, v: string): Promise<void> => x.call('VM.set_PV_bootloader_args', ref, v)
export const set_PV_args = (x: X, ref: string, v: string): Promise<void> => x.call('VM.set_PV_args', ref, v)
export const set_memory_limits = (x: X, ref: string, smin: number, smax: number, dmin: number, dmax: number): Promise<void> => x.call('VM.set_memory_limits', ref, smin, smax, dmin, dmax)
export const set_VCPUs_max = (x: X, ref: string, n: number): Promise<void> => x.call('VM.set_VCPUs_max', ref, n)
export const set_VCPUs_at_startup = (x: X, ref: string, n: number): Promise<void> => x.call('VM.set_VCPUs_at_startup', ref, n)
export const start = (x: X, ref: string, paused = false, force = false): Promise<void> => x.callAsync('VM.start', ref, paused, force)
export const hard_shutdown = (x: X, ref: string): Promise<void> => x.callAsync('VM.hard_shutdown', ref)
export const destroy = (x: X, ref: string): Promise<void> => x.call('VM.destroy', ref)
export const get_all_records = async (x: X): Promise<Record<string, VmDetailRecord>> => parseAnswer(recordsOf(VmDetailRecord), await x.call('VM.get_all_records'), 'VM.get_all_records')
export const set_is_a_template = (x: X, ref: string, v: boolean): Promise<void> => x.call('VM.set_is_a_template', ref, v)
export const set_affinity = (x: X, ref: string, host: string): Promise<void> => x.call('VM.set_affinity', ref, host)
export const set_name_label = (x: X, ref: string, v: string): Promise<void> => x.call('VM.set_name_label', ref, v)
export const clean_shutdown = (x: X, ref: string): Promise<void> => x.callAsync('VM.clean_shutdown', ref)
/** Operations XAPI is running on the VM, keyed by the task behind each (with_vm_operation). */
export const get_current_operations = (x: X, ref: string): Promise<Record<string, string>> => x.call('VM.get_current_operations', ref)
export const set_domain_type = (x: X, ref: string, v: 'hvm' | 'pv' | 'pvh' | 'pv_in_pvh'): Promise<void> => x.call('VM.set_domain_type', ref, v)
export const get_platform = (x: X, ref: string): Promise<Record<string, string>> => x.call('VM.get_platform', ref)
export const set_platform = (x: X, ref: string, v: Record<string, string>): Promise<void> => x.call('VM.set_platform', ref, v)
export const get_xenstore_data = (x: X, ref: string): Promise<Record<string, string>> => x.call('VM.get_xenstore_data', ref)
export const set_xenstore_data = (x: X, ref: string, v: Record<string, string>): Promise<void> => x.call('VM.set_xenstore_data', ref, v)
export const get_VBDs = (x: X, ref: string): Promise<string[]> => x.call('VM.get_VBDs', ref)
export const get_VIFs = (x: X, ref: string): Promise<string[]> => x.call('VM.get_VIFs', ref)
export const get_by_uuid = (x: X, uuid: string): Promise<string> => x.call('VM.get_by_uuid', uuid)
export const get_PV_bootloader = (x: X, ref: string): Promise<string> => x.call('VM.get_PV_bootloader', ref)
