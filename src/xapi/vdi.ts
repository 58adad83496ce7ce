import type { XapiConnection } from './connection.js'
import { VdiDetailRecord, VdiRecord, recordsOf } from './records.js'
import { parseAnswer } from './parse.js'

export interface VdiCreate {
  name_label: string
  name_description: string
  SR: string
  virtual_size: number
  type: 'system' | 'user'
  sharable: boolean
  read_only: boolean
  other_config: Record<string, string>
}

export const create = (x: XapiConnection, rec: VdiCreate): Promise<string> => x.call('VDI.create', { ...rec, xenstore_data: {}, sm_config: {}, tags: [] })
export const destroy = (x: XapiConnection, ref: string): Promise<void> => x.call('VDI.destroy', ref)
export const get_record = async (x: XapiConnection, ref: string): Promise<VdiRecord> => parseAnswer(VdiRecord, await x.call('VDI.get_record', ref), 'VDI.get_record')
export const get_all_records = async (x: XapiConnection): Promise<Record<string, VdiDetailRecord>> =>
  parseAnswer(recordsOf(VdiDetailRecord), await x.call('VDI.get_all_records'), 'VDI.get_all_records')
/**
 * Synchronous on purpose: on VHD-based SRs a clone is a metadata operation that returns
 * at once, and a task would triple its calls (Async.VDI.clone, event.from, task.destroy).
 */
export const clone = (x: XapiConnection, ref: string, driver_params: Record<string, string> = {}): Promise<string> => x.call('VDI.clone', ref, driver_params)
export const set_name_label = (x: XapiConnection, ref: string, v: string): Promise<void> => x.call('VDI.set_name_label', ref, v)
export const set_other_config = (x: XapiConnection, ref: string, v: Record<string, string>): Promise<void> => x.call('VDI.set_other_config', ref, v)
export const add_to_other_config = (x: XapiConnection, ref: string, k: string, v: string): Promise<void> => x.call('VDI.add_to_other_config', ref, k, v)
export const remove_from_other_config = (x: XapiConnection, ref: string, k: string): Promise<void> => x.call('VDI.remove_from_other_config', ref, k)
export const get_current_operations = (x: XapiConnection, ref: string): Promise<Record<string, string>> => x.call('VDI.get_current_operations', ref)
/** A read-only point-in-time copy in the same SR (is_a_snapshot, snapshot_of); through a task, as SM may take a while. */
export const snapshot = (x: XapiConnection, ref: string, driver_params: Record<string, string> = {}): Promise<string> => x.callAsync('VDI.snapshot', ref, driver_params)
/**
 * Copies `ref`'s data into `into_vdi` (or a new VDI in `sr` when into_vdi is the null
 * ref). With a snapshot as `ref` and its parent as `into_vdi`, this is how a single VDI
 * is put back to a snapshot: VDI.revert is internal to VM.revert.
 */
export const copy = (x: XapiConnection, ref: string, sr: string, base_vdi: string, into_vdi: string): Promise<string> => x.callAsync('VDI.copy', ref, sr, base_vdi, into_vdi)
export const get_by_uuid = (x: XapiConnection, uuid: string): Promise<string> => x.call('VDI.get_by_uuid', uuid)
