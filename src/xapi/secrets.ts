/**
 * The secrets of this process: passwords and session ids, registered where they enter
 * (connect(), the CLI's credentials) and hidden by redact() in whatever text leaves the
 * process. A registry rather than per-message care: a host can put a secret anywhere
 * (a fault's parameters, a header, an error page), and no message site can know.
 */
const secrets = new Set<string>()

/** Shorter values would hide ordinary words and digits all over the output. */
const MIN_LENGTH = 4

export const REDACTED = '<redacted>'

/** Remembers a secret for redact(); an empty or very short value is ignored. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_LENGTH) return
  // Every spelling it can take in output: as is, inside a JSON string, in a URL.
  secrets.add(value)
  secrets.add(JSON.stringify(value).slice(1, -1))
  secrets.add(encodeURIComponent(value))
}

/** Query parameters and URL credentials that are secrets whatever their value. */
const SHAPES: [RegExp, string][] = [
  [/(session_id=)[^&\s"'<>)]+/gi, `$1${REDACTED}`],
  [/([a-z][a-z0-9+.-]*:\/\/[^/\s:@"']*:)[^@\s/"']*@/gi, `$1${REDACTED}@`],
]

/** The text with every registered secret and every secret-shaped parameter replaced. */
export function redact(text: string): string {
  let out = text
  // Longest first, so a secret that contains another is hidden whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) if (out.includes(s)) out = out.split(s).join(REDACTED)
  for (const [re, by] of SHAPES) out = out.replace(re, by)
  return out
}
