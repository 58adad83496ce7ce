/** What a VM's cloud-init strings may refer to (docs/first-boot.md "Templating"). */
export interface TemplateVars {
  name: string
  index: number
  mac: string
  /** The address the VM is given (a fleet's pool); undefined when there is none. */
  ip?: string | undefined
}

export class TemplateError extends Error {
  override name = 'TemplateError'
}

const PLACEHOLDER = /\{(name|index|mac|ip)\}/g

/** Replaces {name} {index} {mac} {ip}; {ip} without an address is an error, never an empty string. */
export function fill(text: string, v: TemplateVars, where: string): string {
  return text.replace(PLACEHOLDER, (_, key: string) => {
    if (key === 'name') return v.name
    if (key === 'index') return String(v.index)
    if (key === 'mac') return v.mac
    if (v.ip === undefined) throw new TemplateError(`${where} uses {ip}, but no address is assigned to this VM (only a fleet's address pool assigns one)`)
    return v.ip
  })
}

/** The same, through every string of a JSON-like value (network config). */
export function fillDeep<T>(value: T, v: TemplateVars, where: string): T {
  if (typeof value === 'string') return fill(value, v, where) as T
  if (Array.isArray(value)) return value.map((x, i) => fillDeep(x, v, `${where}[${i}]`)) as T
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, fillDeep(x, v, `${where}.${k}`)])) as T
  }
  return value
}
