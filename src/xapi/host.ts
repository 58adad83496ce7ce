import type { XapiConnection } from './connection.js'
import { HostRecord, recordsOf } from './records.js'
import { parseAnswer } from './parse.js'

export const get_all_records = async (x: XapiConnection): Promise<Record<string, HostRecord>> =>
  parseAnswer(recordsOf(HostRecord), await x.call('host.get_all_records'), 'host.get_all_records')
