import { XapiError } from '../xapi/errors.js'
import { UserError } from '../errors.js'
import { redact } from '../xapi/secrets.js'

/** Advice for the XAPI errors a provision run can meet; the rest get a generic fix. */
const ADVICE: Record<string, (p: readonly string[]) => { why?: string; fix: string }> = {
  BOOTLOADER_FAILED: (p) => ({
    why: `pygrub could not boot the disk: ${p[1] ?? ''}`,
    fix: 'check the image: UFS1 root (newfs -O1), partition a at the start of the slice (or --offset= in PV-bootloader-args), and the kernel path in PV-bootloader-args',
  }),
  VDI_IO_ERROR: () => ({ fix: 'the image may be larger than the VDI (raise vdi.virtual_size) or the connection broke; run again' }),
  SR_BACKEND_FAILURE_44: () => ({ why: 'the SR is out of space', fix: 'free space on the SR or choose another SR in the recipe' }),
  MAC_INVALID: (p) => ({ fix: `"${p[0] ?? ''}" is not a MAC; set network.mac to six hex bytes such as 00:16:3e:12:34:56` }),
  DEVICE_ALREADY_EXISTS: (p) => ({ fix: `device ${p[0] ?? ''} is taken on this VM; choose another device in the recipe` }),
  MEMORY_CONSTRAINT_VIOLATION_ORDER: () => ({ fix: 'memory must satisfy static_min <= dynamic_min <= dynamic_max <= static_max' }),
  SESSION_AUTHENTICATION_FAILED: (p) => ({
    why: `the host rejected user "${p[0] ?? ''}"`,
    fix: 'check XAPI_USER and XAPI_PASSWORD (environment or .env)',
  }),
  HOST_IS_SLAVE: (p) => ({ why: `this host is a pool member; the pool master is ${p[0] ?? '?'}`, fix: `use --host ${p[0] ?? '<master>'}` }),
  VM_BAD_POWER_STATE: (p) => ({ fix: `the VM is ${p[2] ?? '?'} but the call needs ${p[1] ?? '?'}; check what else is acting on it` }),
}

export function explainFailure(stepTitle: string, e: unknown): Omit<ConstructorParameters<typeof UserError>[0], 'removed' | 'kept'> {
  if (e instanceof UserError) return { ...e.info, code: e.code }
  if (e instanceof XapiError) {
    const advice = ADVICE[e.code]?.(e.params)
    return {
      code: e.code,
      what: `${stepTitle} failed`,
      why: advice?.why ? `${advice.why} (${e.message})` : `XAPI answered ${e.message}`,
      fix: advice?.fix ?? `look up ${e.code} in the XenAPI error reference; the call was ${e.method}`,
    }
  }
  // HTTP libraries put the request URL in their messages, and XAPI's HTTP URLs carry the session.
  const msg = redact(e instanceof Error ? e.message : String(e))
  return { what: `${stepTitle} failed`, why: msg, ...networkFix(msg) }
}

function networkFix(msg: string): { fix: string; code: string } {
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(msg)) return { fix: 'check that the host name and port are right and the host is reachable', code: 'connection-failed' }
  if (/certificate|self[- ]signed|CERT_|UNABLE_TO_VERIFY/i.test(msg)) {
    return {
      fix: "the host's TLS certificate is not trusted: pin it with --fingerprint sha256:<hex> (openssl x509 -in /etc/xensource/xapi-ssl.pem -noout -fingerprint -sha256 on the host), trust its CA, or pass --insecure if you accept the risk",
      code: 'tls',
    }
  }
  if (/ECONNRESET|EPIPE|socket hang up|other side closed/.test(msg)) return { fix: 'the connection broke; run the command again', code: 'connection-failed' }
  return { fix: 'run again with the same arguments; if it fails the same way, report it with this message', code: 'failed' }
}
