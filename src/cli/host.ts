import { UserError, EXIT } from '../errors.js'

export type HostTarget = { kind: 'sim' } | { kind: 'url'; url: string }

/**
 * --host: "sim" (the embedded simulator), a URL, "name:port" or a bare name. A bare
 * name means https://<name>/ because XAPI listens on 443 with TLS.
 */
export function parseHost(host: string): HostTarget {
  if (host === 'sim') return { kind: 'sim' }
  let url: URL
  try {
    url = new URL(/^[a-z]+:\/\//i.test(host) ? host : `https://${host.includes(':') && !host.startsWith('[') && host.split(':').length > 2 ? `[${host}]` : host}/`)
  } catch {
    // Whatever precedes an "@" is credentials, even in a string that is not a URL: never echoed.
    const shown = host.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?)[^/]*@/i, '$1<redacted>@')
    throw new UserError({
      what: `--host "${shown}" is not a host`,
      why: 'it is neither a name, name:port, nor a URL',
      fix: 'write e.g. --host xcp1, --host xcp1:8443 or --host https://xcp1/',
      exitCode: EXIT.usage,
    })
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UserError({ what: `--host "${host}" has protocol ${url.protocol}`, why: 'XAPI speaks HTTP or HTTPS', fix: 'use an https:// (or http://) URL', exitCode: EXIT.usage })
  }
  if (url.username || url.password) {
    throw new UserError({
      what: '--host must not contain credentials',
      why: 'process arguments are visible to every user of the machine',
      fix: 'put them in XAPI_USER and XAPI_PASSWORD (environment or .env)',
      exitCode: EXIT.usage,
    })
  }
  return { kind: 'url', url: `${url.protocol}//${url.host}/` }
}
