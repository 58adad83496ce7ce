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

export const create = (x: XapiConnection, rec: VdiCreate): Promise<string> =>
  x.call('VDI.create', { ...rec, xenstore_data: {}, sm_config: {}, tags: [] })
export const destroy = (x: XapiConnection, ref: string): Promise<void> => x.call('VDI.destroy', ref)
export const get_record = async (x: XapiConnection, ref: string): Promise<VdiRecord> =>
  parseAnswer(VdiRecord, await x.call('VDI.get_record', ref), 'VDI.get_record')
export const get_all_records = async (x: XapiConnection): Promise<Record<string, VdiDetailRecord>> =>
  parseAnswer(recordsOf(VdiDetailRecord), await x.call('VDI.get_all_records'), 'VDI.get_all_records')
/**
 * Synchronous on purpose: on VHD-based SRs a clone is a metadata operation that returns
 * at once, and a task would triple its calls (Async.VDI.clone, event.from, task.destroy).
 */
export const clone = (x: XapiConnection, ref: string, driver_params: Record<string, string> = {}): Promise<string> =>
  x.call('VDI.clone', ref, driver_params)
export const set_name_label = (x: XapiConnection, ref: string, v: string): Promise<void> => x.call('VDI.set_name_label', ref, v)
export const set_other_config = (x: XapiConnection, ref: string, v: Record<string, string>): Promise<void> => x.call('VDI.set_other_config', ref, v)
export const add_to_other_config = (x: XapiConnection, ref: string, k: string, v: string): Promise<void> =>
  x.call('VDI.add_to_other_config', ref, k, v)
export const remove_from_other_config = (x: XapiConnection, ref: string, k: string): Promise<void> =>
  x.call('VDI.remove_from_other_config', ref, k)
export const get_current_operations = (x: XapiConnection, ref: string): Promise<Record<string, string>> => x.call('VDI.get_current_operations', ref)
