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
