import { CommandError } from './protocol'

// Query parameters that carry an encoded invitation (out-of-band 1.x, legacy connections 1.0).
const INVITATION_PARAMETERS = ['oob', 'c_i', 'd_m']

/**
 * Checks an invitation URL before Credo sees it, so a wrong URL gets a message that says what is
 * wrong with it instead of a parser stack trace from deep inside the framework.
 */
export function checkInvitationUrl(url: string, setting: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new CommandError('request', `${setting} is not a URL: "${url}"`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:' && parsed.protocol !== 'didcomm:') {
    throw new CommandError('request', `${setting} must be an http(s) invitation URL, got scheme "${parsed.protocol}"`)
  }
  const parameter = INVITATION_PARAMETERS.find((name) => parsed.searchParams.has(name))
  if (!parameter) {
    throw new CommandError(
      'request',
      `${setting} carries no invitation: expected a query parameter ${INVITATION_PARAMETERS.join(', ')} (got "${url}")`,
    )
  }
  const encoded = parsed.searchParams.get(parameter) ?? ''
  try {
    const decoded = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'))
    if (typeof decoded !== 'object' || decoded === null || typeof decoded['@type'] !== 'string') throw new Error()
  } catch {
    throw new CommandError('request', `${setting}: the "${parameter}" parameter is not a base64url-encoded invitation`)
  }
}
