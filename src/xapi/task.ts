import type { XapiConnection } from './connection.js'
import { TaskRecord, recordsOf } from './records.js'
import { parseAnswer } from './parse.js'

export const create = (x: XapiConnection, label: string, description: string): Promise<string> => x.call('task.create', label, description)
export const destroy = (x: XapiConnection, ref: string): Promise<void> => x.call('task.destroy', ref)
export const cancel = (x: XapiConnection, ref: string): Promise<void> => x.call('task.cancel', ref)
export const set_status = (x: XapiConnection, ref: string, status: 'cancelled'): Promise<void> => x.call('task.set_status', ref, status)
export const get_all_records = async (x: XapiConnection): Promise<Record<string, TaskRecord>> => parseAnswer(recordsOf(TaskRecord), await x.call('task.get_all_records'), 'task.get_all_records')
