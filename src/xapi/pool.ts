import type { XapiConnection } from './connection.js'
import { z } from 'zod'
import { parseAnswer } from './parse.js'
import { recordsOf } from './records.js'

const PoolRecord = z.looseObject({ master: z.string(), default_SR: z.string() })
export type PoolRecord = z.infer<typeof PoolRecord>

export const get_all_records = async (x: XapiConnection): Promise<Record<string, PoolRecord>> =>
  parseAnswer(recordsOf(PoolRecord), await x.call('pool.get_all_records'), 'pool.get_all_records')
