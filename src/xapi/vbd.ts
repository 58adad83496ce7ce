import type { XapiConnection } from './connection.js'

export interface VbdCreate {
  VM: string
  VDI: string
  userdevice: string
  bootable: boolean
  mode: 'RW' | 'RO'
  type: 'Disk' | 'CD'
}

/** The fields xe vbd-create sends besides the ones the caller chooses. */
export const create = (x: XapiConnection, rec: VbdCreate): Promise<string> =>
  x.call('VBD.create', {
    ...rec,
    unpluggable: true,
    empty: false,
    other_config: {},
    qos_algorithm_type: '',
    qos_algorithm_params: {},
    device: '',
    currently_attached: false,
  })
export const destroy = (x: XapiConnection, ref: string): Promise<void> => x.call('VBD.destroy', ref)
export const get_userdevice = (x: XapiConnection, ref: string): Promise<string> => x.call('VBD.get_userdevice', ref)
/** Hot-unplug from a running VM (the guest must cooperate: PV drivers); needed before destroy. */
export const unplug = (x: XapiConnection, ref: string): Promise<void> => x.callAsync('VBD.unplug', ref)
export const get_record = (x: XapiConnection, ref: string): Promise<Record<string, unknown>> => x.call('VBD.get_record', ref)
