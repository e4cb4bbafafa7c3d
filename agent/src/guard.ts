// An optional network guard for tests and demos: with AKRIDA_AGENT_LOOPBACK_ONLY=1 the agent refuses
// every outbound TCP connection and DNS lookup that is not for a loopback address, so a mistake in a
// test fails loudly instead of sending traffic off the machine.
import dns from 'dns'
import net from 'net'

const isLoopback = (host: string | undefined): boolean =>
  !host || host === 'localhost' || /^127\./.test(host) || host === '::1' || host === '[::1]'

export function installLoopbackGuard(): void {
  const connect = net.Socket.prototype.connect
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    let options = args[0] as unknown
    if (Array.isArray(options)) options = options[0]
    let host: string | undefined
    if (typeof options === 'object' && options !== null) {
      const target = options as { host?: string; path?: string }
      host = target.path ? 'localhost' : target.host
    } else if (typeof args[1] === 'string') {
      host = args[1]
    }
    if (!isLoopback(host)) {
      const error = new Error(`loopback guard: refusing a connection to ${host}`)
      process.nextTick(() => this.destroy(error))
      return this
    }
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args)
  } as typeof net.Socket.prototype.connect

  const lookup = dns.lookup
  ;(dns as { lookup: unknown }).lookup = function guardedLookup(hostname: string, ...rest: unknown[]) {
    if (!isLoopback(hostname)) {
      const callback = rest[rest.length - 1] as (error: Error) => void
      const error = Object.assign(new Error(`loopback guard: refusing to resolve ${hostname}`), { code: 'ENOTFOUND' })
      process.nextTick(() => callback(error))
      return
    }
    return (lookup as (...a: unknown[]) => unknown).call(dns, hostname, ...rest)
  }
}
