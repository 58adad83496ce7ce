import { z } from 'zod'
import type { XapiConnection } from './connection.js'
import { HostRecord, HostVersionRecord, recordsOf } from './records.js'
import { parseAnswer } from './parse.js'

export const get_all_records = async (x: XapiConnection): Promise<Record<string, HostRecord>> => parseAnswer(recordsOf(HostRecord), await x.call('host.get_all_records'), 'host.get_all_records')

/** The PEM certificate the host serves HTTPS with. */
export const get_server_certificate = async (x: XapiConnection, host: string): Promise<string> =>
  parseAnswer(z.string(), await x.call('host.get_server_certificate', host), 'host.get_server_certificate')

/** One host's release facts: software_version, API version and Xen's capabilities. */
export const get_record = async (x: XapiConnection, host: string): Promise<HostVersionRecord> => parseAnswer(HostVersionRecord, await x.call('host.get_record', host), 'host.get_record')
