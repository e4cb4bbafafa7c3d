// A real Credo mediator (MediatorModule) for tests, on loopback only: WebSocket and HTTP inbound.
//
//   node tests/integration/credo_mediator.js <port>
//
// Prints one JSON line on stdout once it listens, {"pid": …, "invitationUrl": "…", "endpoint": "…"},
// and runs until stdin closes or SIGTERM. Credo's packages come from the holder agent's node_modules
// (agent/), which `make setup` installs; LIB_ARIES_ASKAR_PATH names askar's native library, as for
// the agent (akrida.agent.AgentConfig.environment()).
'use strict'

const path = require('path')
const { createRequire } = require('module')

const agentRequire = createRequire(path.join(__dirname, '..', '..', 'agent', 'package.json'))
const credo = agentRequire('@credo-ts/core')
const { agentDependencies, WsInboundTransport } = agentRequire('@credo-ts/node')
const { WebSocketTransportSession } = agentRequire('@credo-ts/node/build/transport/WsInboundTransport')
const { AskarModule } = agentRequire('@credo-ts/askar')
const { ariesAskar } = agentRequire('@hyperledger/aries-askar-nodejs')
const { WebSocketServer } = agentRequire('ws')

const HOST = '127.0.0.1'
// stdout carries the one JSON line; Credo's ConsoleLogger writes to console.log and console.info.
console.log = console.info = console.debug = console.error


// Credo 0.5's mediator closes a holder's WebSocket on any inbound message without return route, and
// a Credo holder sends its connection's `complete` (no return route) and its mediation request
// (return route) at once on the same socket: the grant is then queued for a holder that never picks
// it up, and mediation times out. A mediator keeps a holder's socket open (ACA-Py does); so does this
// one, which leaves closing to the holder.
WebSocketTransportSession.prototype.close = async function keepOpen() {}

async function main() {
  const port = Number(process.argv[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('usage: credo_mediator.js <port>')
  const endpoint = `ws://${HOST}:${port}`
  const agent = new credo.Agent({
    config: {
      label: 'akrida-test-credo-mediator',
      // A raw key skips Argon2; an in-memory wallet leaves nothing behind.
      walletConfig: {
        id: `credo-mediator-${process.pid}`,
        key: ariesAskar.storeGenerateRawKey({}),
        keyDerivationMethod: credo.KeyDerivationMethod.Raw,
        storage: { type: 'sqlite', config: { inMemory: true } },
      },
      endpoints: [endpoint],
      logger: new credo.ConsoleLogger(credo.LogLevel[process.env.CREDO_MEDIATOR_LOG_LEVEL || 'warn']),
    },
    dependencies: agentDependencies,
    modules: {
      askar: new AskarModule({ ariesAskar }),
      connections: new credo.ConnectionsModule({ autoAcceptConnections: true }),
      mediator: new credo.MediatorModule({ autoAcceptMediationRequests: true }),
    },
  })
  // Credo's transports listen on every interface by default; this one is for loopback only.
  agent.registerInboundTransport(new WsInboundTransport({ server: new WebSocketServer({ host: HOST, port }) }))
  agent.registerOutboundTransport(new credo.WsOutboundTransport())
  agent.registerOutboundTransport(new credo.HttpOutboundTransport())
  await agent.initialize()
  const { outOfBandInvitation } = await agent.oob.createInvitation({ multiUseInvitation: true })
  const invitationUrl = outOfBandInvitation.toUrl({ domain: `http://${HOST}:${port}` })
  process.stdout.write(`${JSON.stringify({ pid: process.pid, invitationUrl, endpoint })}\n`)

  let stopping = false
  const stop = async (why) => {
    if (stopping) return
    stopping = true
    process.stderr.write(`credo_mediator: stopping (${why})\n`)
    await agent.shutdown().catch(() => undefined)
    process.exit(0)
  }
  process.stdin.on('end', () => stop('its stdin ended'))
  process.stdin.resume()
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('exit', (code) => process.stderr.write(`credo_mediator: exit ${code}\n`))
}

main().catch((error) => {
  process.stderr.write(`credo_mediator: ${error instanceof Error ? error.stack : error}\n`)
  process.exit(1)
})
