import { parse as parseYaml } from 'yaml'

/**
 * The two user-data formats a config drive carries here: "#cloud-config" YAML (a mapping)
 * and a MIME multipart message (what cloud-init's make-mime writes). Anything else
 * (a shell script, an include file) is refused: nuageinit and cloud-init differ on it,
 * and a typo in the first line would otherwise reach the guest as an ignored blob.
 * Returns the problem, or undefined when the data is usable.
 */
export function checkUserData(text: string): string | undefined {
  const first = text.split('\n', 1)[0]!.trim()
  if (first === '#cloud-config') {
    let doc: unknown
    try {
      doc = parseYaml(text)
    } catch (e) {
      return `is not valid YAML: ${(e as Error).message.split('\n')[0]}`
    }
    if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc))) return 'must be a YAML mapping after "#cloud-config" (keys such as runcmd, users, write_files)'
    return undefined
  }
  if (/^content-type:\s*multipart\//i.test(first) || /^mime-version:/i.test(first)) {
    return /boundary=/i.test(text) ? undefined : 'is a MIME message without a boundary: build it with cloud-init devel make-mime'
  }
  return `starts with "${first.slice(0, 40)}": give "#cloud-config" YAML or a MIME multipart message (cloud-init devel make-mime)`
}

/** The `runcmd` entries of #cloud-config user data, each as one shell line; for the simulated guest. */
export function runcmdLines(text: string): string[] {
  if (text.split('\n', 1)[0]!.trim() !== '#cloud-config') return []
  const doc = parseYaml(text) as { runcmd?: unknown } | null
  const list = Array.isArray(doc?.runcmd) ? (doc.runcmd as unknown[]) : []
  return list.map((c) => (Array.isArray(c) ? c.map(String).join(' ') : String(c)))
}
