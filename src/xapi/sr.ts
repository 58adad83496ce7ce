import type { XapiConnection } from './connection.js'
import { PbdRecord, SrRecord, recordsOf } from './records.js'
import { parseAnswer } from './parse.js'

export const get_by_name_label = (x: XapiConnection, label: string): Promise<string[]> => x.call('SR.get_by_name_label', label)
export const get_by_uuid = (x: XapiConnection, uuid: string): Promise<string> => x.call('SR.get_by_uuid', uuid)
export const get_record = async (x: XapiConnection, ref: string): Promise<SrRecord> => parseAnswer(SrRecord, await x.call('SR.get_record', ref), 'SR.get_record')
export const get_PBD_record = async (x: XapiConnection, ref: string): Promise<PbdRecord> => parseAnswer(PbdRecord, await x.call('PBD.get_record', ref), 'PBD.get_record')
export const get_all_records = async (x: XapiConnection): Promise<Record<string, SrRecord>> => parseAnswer(recordsOf(SrRecord), await x.call('SR.get_all_records'), 'SR.get_all_records')
