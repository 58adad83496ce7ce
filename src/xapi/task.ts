import type { XapiConnection } from './connection.js'

export const create = (x: XapiConnection, label: string, description: string): Promise<string> =>
  x.call('task.create', label, description)
export const destroy = (x: XapiConnection, ref: string): Promise<void> => x.call('task.destroy', ref)
export const cancel = (x: XapiConnection, ref: string): Promise<void> => x.call('task.cancel', ref)
