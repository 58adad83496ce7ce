import type { XapiConnection } from './connection.js'
import { NetworkRecord, recordsOf } from './records.js'
import { parseAnswer } from './parse.js'

export const get_all_records = async (x: XapiConnection): Promise<Record<string, NetworkRecord>> =>
  parseAnswer(recordsOf(NetworkRecord), await x.call('network.get_all_records'), 'network.get_all_records')
