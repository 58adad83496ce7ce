import type { XapiConnection } from './connection.js'
import { z } from 'zod'
import { parseAnswer } from './parse.js'
import { recordsOf } from './records.js'

const PoolRecord = z.looseObject({ master: z.string(), default_SR: z.string() })
export type PoolRecord = z.infer<typeof PoolRecord>

export const get_all_records = async (x: XapiConnection): Promise<Record<string, PoolRecord>> => parseAnswer(recordsOf(PoolRecord), await x.call('pool.get_all_records'), 'pool.get_all_records')
export const get_all = (x: XapiConnection): Promise<string[]> => x.call('pool.get_all')
export const get_other_config = (x: XapiConnection, ref: string): Promise<Record<string, string>> => x.call('pool.get_other_config', ref)
/** Atomic: fails with MAP_DUPLICATE_KEY when the key is present, which is what a claim needs. */
export const add_to_other_config = (x: XapiConnection, ref: string, k: string, v: string): Promise<void> => x.call('pool.add_to_other_config', ref, k, v)
export const remove_from_other_config = (x: XapiConnection, ref: string, k: string): Promise<void> => x.call('pool.remove_from_other_config', ref, k)
/** The pool's Secure Boot certificates (a tarball, base64); "" when none are installed. */
export const get_uefi_certificates = (x: XapiConnection, ref: string): Promise<string> => x.call('pool.get_uefi_certificates', ref)
/** XCP-ng's own certificates (allow-custom-uefi-certs=true); they win over uefi_certificates when set. */
export const get_custom_uefi_certificates = (x: XapiConnection, ref: string): Promise<string> => x.call('pool.get_custom_uefi_certificates', ref)
