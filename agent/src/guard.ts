// Where holders may connect. A load generator runs thousands of wallets that follow whatever
// endpoints invitations and DID documents name; a misconfigured or hostile target could point them
// at any address. The egress guard lets outbound TCP connections and DNS lookups through only for
// the hosts the run's settings name (AKRIDA_AGENT_ALLOWED_HOSTS, written by the driver), and
// remembers each refusal, so that the command that needed it fails as this agent's own (`local`)
// failure naming the host, not as the target's.
//
// AKRIDA_AGENT_LOOPBACK_ONLY=1 (the tests set it) also refuses everything that is not loopback, so a
// mistake in a test fails loudly instead of sending traffic off the machine.
import dns from 'dns'
import net from 'net'

import { CommandError } from './protocol'

const isLoopback = (host: string): boolean => host === 'localhost' || /^127\./.test(host) || host === '::1' || host === '[::1]'

type Rule = (host: string) => string | null // why the host is refused, or null

/** What was refused so far, in order: a command compares the count before and after it. */
const refused: string[] = []

export function refusalsSoFar(): number {
  return refused.length
}

/** The failure of a command during which the guard refused a connection, or null when none was. */
export function refusalSince(count: number): CommandError | null {
  if (refused.length <= count) return null
  const hosts = [...new Set(refused.slice(count))]
  return new CommandError(
    'local',
    `the egress allowlist refused a connection to ${hosts.join(', ')}: no setting names it ` +
      '(the mediator, the issuer and EGRESS_ALLOW are allowed); add it to EGRESS_ALLOW if it is part of the target',
  )
}

/** Installs the rules the environment asks for; none when it asks for none. */
export function installEgressGuard(environment: NodeJS.ProcessEnv = process.env): void {
  const rules: Rule[] = []
  if (environment.AKRIDA_AGENT_LOOPBACK_ONLY === '1') {
    rules.push((host) => (isLoopback(host) ? null : `loopback guard: refusing ${host}`))
  }
  const allowed = (environment.AKRIDA_AGENT_ALLOWED_HOSTS ?? '')
    .split(',')
    .map((host) => normalise(host))
    .filter((host) => host !== '')
  if (allowed.length > 0) {
    const named = new Set(allowed)
    rules.push((host) => (named.has(normalise(host)) ? null : `egress allowlist: refusing ${host}`))
  }
  if (rules.length > 0) install((host) => rules.map((rule) => rule(host)).find((reason) => reason !== null) ?? null)
}

function normalise(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
}

function install(check: Rule): void {
  const connect = net.Socket.prototype.connect
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    let options = args[0] as unknown
    if (Array.isArray(options)) options = options[0]
    let host = 'localhost' // Node's default when none is given
    if (typeof options === 'object' && options !== null) {
      const target = options as { host?: string; path?: string }
      if (!target.path && target.host) host = target.host
    } else if (typeof args[1] === 'string') {
      host = args[1]
    }
    const reason = check(host)
    if (reason !== null) {
      refused.push(host)
      const error = new Error(`${reason}: a connection`)
      process.nextTick(() => this.destroy(error))
      return this
    }
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args)
  } as typeof net.Socket.prototype.connect

  const lookup = dns.lookup
  ;(dns as { lookup: unknown }).lookup = function guardedLookup(hostname: string, ...rest: unknown[]) {
    const reason = check(hostname || 'localhost')
    if (reason !== null) {
      refused.push(hostname)
      const callback = rest[rest.length - 1] as (error: Error) => void
      const error = Object.assign(new Error(`${reason}: a name lookup`), { code: 'ENOTFOUND' })
      process.nextTick(() => callback(error))
      return
    }
    return (lookup as (...a: unknown[]) => unknown).call(dns, hostname, ...rest)
  }
}
