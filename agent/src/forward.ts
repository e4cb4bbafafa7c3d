import { Agent, Key, LogLevel } from '@credo-ts/core'
// Not re-exported by the package's index; it is the service Credo's own MessageSender resolves routes with.
import { DidCommDocumentService } from '@credo-ts/core/build/modules/didcomm'
import { randomUUID } from 'crypto'

import { performance } from 'perf_hooks'

import { log } from './log'
import { CommandError } from './protocol'
import type { ForwardMessagesResult } from './protocol.generated'
import { hostClockMs, type Stamps } from './stamps'
import { withTimeout } from './wait'

const BASIC_MESSAGE = 'https://didcomm.org/basicmessage/1.0/message'
const FORWARD = 'https://didcomm.org/routing/1.0/forward'
const ENVELOPE = 'application/didcomm-envelope-enc'

/** Where messages for one connection go: the holder's keys, its mediator's routing keys and endpoint. */
interface Route {
  senderKey: Key
  recipientKeys: Key[]
  routingKeys: Key[]
  endpoint: string
}

/**
 * Sends basic messages to held holders straight to their mediator, bypassing any issuer's admin API:
 * each message is encrypted for the holder's key with this agent's key of the connection (authcrypt,
 * so the holder knows the connection), then wrapped in one DIDComm `forward` per routing key (each
 * anoncrypted for that key) and posted to the mediator's endpoint. This is the envelope every
 * sender's agent builds; packing it here lets message volume at the mediator go past what one
 * issuer's admin API can send.
 */
export class ForwardSender {
  private readonly routes = new Map<string, Route>()
  private readonly byInvitation = new Map<string, string>()

  constructor(private readonly agent: Agent) {}

  /**
   * `to`: this agent's connection id, or the id of the single-use invitation the holder accepted.
   * `stamps` gets each post's round trip with the mediator: packing is the generator's work.
   */
  async forward(
    to: { connectionId?: string; outOfBandId?: string },
    contents: string[],
    timeoutMs: number,
    stamps: Stamps,
  ): Promise<ForwardMessagesResult> {
    const route = await this.route(await this.connectionIdOf(to))
    const started = Date.now()
    const envelopes = []
    for (const content of contents) envelopes.push(await this.pack(route, content))
    const packed = Date.now()
    const postedAtMs = hostClockMs()
    for (const envelope of envelopes) {
      const sent = performance.now()
      await post(route.endpoint, envelope, timeoutMs - (Date.now() - started))
      stamps.waited(sent, performance.now())
    }
    const result = { sent: envelopes.length, packMs: packed - started, postMs: Date.now() - packed }
    return { ...result, endpoint: route.endpoint, postedAtMs }
  }

  private async connectionIdOf({ connectionId, outOfBandId }: { connectionId?: string; outOfBandId?: string }): Promise<string> {
    if ((connectionId === undefined) === (outOfBandId === undefined)) {
      throw new CommandError('request', 'forward_messages needs exactly one of connectionId and outOfBandId')
    }
    if (connectionId !== undefined) return connectionId
    const known = this.byInvitation.get(outOfBandId as string)
    if (known) return known
    const connections = await this.agent.connections.findAllByOutOfBandId(outOfBandId as string)
    if (connections.length !== 1) {
      throw new CommandError('request', `invitation ${outOfBandId} has ${connections.length} connections: give its connectionId`)
    }
    this.byInvitation.set(outOfBandId as string, connections[0].id)
    return connections[0].id
  }

  /** The connection's route, resolved once: DID documents do not change while a run lasts. */
  private async route(connectionId: string): Promise<Route> {
    const known = this.routes.get(connectionId)
    if (known) return known
    const connection = await this.agent.connections.findById(connectionId)
    if (!connection) throw new CommandError('request', `no connection with id "${connectionId}"`)
    if (!connection.theirDid || !connection.did) {
      throw new CommandError('request', `connection ${connectionId} is not complete (state ${connection.state})`)
    }
    const documents = this.agent.dependencyManager.resolve(DidCommDocumentService)
    const [theirs] = await documents.resolveServicesFromDid(this.agent.context, connection.theirDid)
    const [ours] = await documents.resolveServicesFromDid(this.agent.context, connection.did)
    if (!theirs || !ours) throw new CommandError('local', `connection ${connectionId} has no DIDComm service to send to`)
    const endpoint = theirs.serviceEndpoint
    if (!/^https?:\/\//.test(endpoint)) {
      throw new CommandError('request', `the holder's endpoint ${endpoint} is not HTTP: the forward sender posts over HTTP`)
    }
    const route = { senderKey: ours.recipientKeys[0], recipientKeys: theirs.recipientKeys, routingKeys: theirs.routingKeys, endpoint }
    this.routes.set(connectionId, route)
    return route
  }

  private async pack(route: Route, content: string): Promise<Record<string, unknown>> {
    const wallet = this.agent.context.wallet
    const message = { '@type': BASIC_MESSAGE, '@id': randomUUID(), sent_time: new Date().toISOString(), content }
    const recipients = route.recipientKeys.map((key) => key.publicKeyBase58)
    let envelope = (await wallet.pack(message, recipients, route.senderKey.publicKeyBase58)) as unknown as Record<string, unknown>
    // Innermost first: each mediator on the way unwraps one forward and passes `msg` to `to`.
    let to = recipients[0]
    for (const routingKey of route.routingKeys) {
      const forward = { '@type': FORWARD, '@id': randomUUID(), to, msg: envelope }
      envelope = (await wallet.pack(forward, [routingKey.publicKeyBase58])) as unknown as Record<string, unknown>
      to = routingKey.publicKeyBase58
    }
    return envelope
  }
}

async function post(endpoint: string, envelope: Record<string, unknown>, timeoutMs: number): Promise<void> {
  let response: Response
  try {
    response = await withTimeout(
      fetch(endpoint, { method: 'POST', headers: { 'Content-Type': ENVELOPE }, body: JSON.stringify(envelope) }),
      Math.max(1, timeoutMs),
      `posting a forward message to ${endpoint}`,
    )
  } catch (error) {
    if (error instanceof CommandError) throw error
    throw new CommandError('failed', `the mediator at ${endpoint} could not be reached: ${(error as Error).message}`)
  }
  // Read to the end, so the connection goes back to the pool for the next post.
  const answer = await response.text()
  if (!response.ok) {
    log(LogLevel.warn, `forward to ${endpoint} refused: ${response.status} ${answer.slice(0, 200)}`)
    throw new CommandError('failed', `the mediator at ${endpoint} refused a forward message: HTTP ${response.status}`)
  }
}
