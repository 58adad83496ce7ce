import type { XapiConnection } from './connection.js'
import { PbdRecord, recordsOf } from './records.js'
import { parseAnswer } from './parse.js'

export const get_record = async (x: XapiConnection, ref: string): Promise<PbdRecord> => parseAnswer(PbdRecord, await x.call('PBD.get_record', ref), 'PBD.get_record')
export const get_all_records = async (x: XapiConnection): Promise<Record<string, PbdRecord>> => parseAnswer(recordsOf(PbdRecord), await x.call('PBD.get_all_records'), 'PBD.get_all_records')
