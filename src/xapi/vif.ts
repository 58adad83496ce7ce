import type { XapiConnection } from './connection.js'
import { VifRecord, recordsOf } from './records.js'
import { parseAnswer } from './parse.js'

export interface VifCreate {
  VM: string
  network: string
  device: string
  MAC: string
  MTU: number
}

/** The fields xe vif-create sends besides the ones the caller chooses. */
export const create = (x: XapiConnection, rec: VifCreate): Promise<string> =>
  x.call('VIF.create', {
    ...rec,
    other_config: {},
    currently_attached: false,
    qos_algorithm_type: '',
    qos_algorithm_params: {},
    locking_mode: 'network_default',
    ipv4_allowed: [],
    ipv6_allowed: [],
  })
export const destroy = (x: XapiConnection, ref: string): Promise<void> => x.call('VIF.destroy', ref)
export const get_all_records = async (x: XapiConnection): Promise<Record<string, VifRecord>> => parseAnswer(recordsOf(VifRecord), await x.call('VIF.get_all_records'), 'VIF.get_all_records')
export const get_device = (x: XapiConnection, ref: string): Promise<string> => x.call('VIF.get_device', ref)
