import type { RequestError } from 'got'
import { HostTimeout, phaseOfGotEvent, type Timeouts } from '../xapi/timeouts.js'

/**
 * What a failed raw transfer says about itself, without its URL (the URL carries the
 * session id): a timeout names the host, the phase and the limit as every other
 * network wait does; anything else is got's message with URLs cut out.
 */
export function transferErrorText(e: RequestError, url: URL, doing: string, t: Timeouts): string {
  const event = (e as { event?: unknown }).event
  if (e.name === 'TimeoutError' && typeof event === 'string') {
    const phase = phaseOfGotEvent(event)
    const ms = phase === 'connect' ? t.connectMs : phase === 'idle' ? t.idleMs : t.responseMs
    return new HostTimeout(url.host, doing, phase, ms).message
  }
  return e.message.replace(/https?:\/\/\S+/g, '<url>')
}
