import type { XapiConnection } from './connection.js'
import { VdiRecord } from './records.js'
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
