// A holder's DIDComm connections: the invitations it makes and receives, the basic messages it is
// sent (buffered as they arrive, so a command that waits for one never misses one that came first)
// and those it forwards itself.
import { Agent, BasicMessageEventTypes, BasicMessageRole, HandshakeProtocol, LogLevel } from '@credo-ts/core'
import type { BasicMessageStateChangedEvent } from '@credo-ts/core'

import { ForwardSender } from './forward'
import { checkInvitationUrl } from './invitation'
import { log } from './log'
import { CommandError } from './protocol'
import type * as Wire from './protocol.generated'
import { KEYLIST } from './roundTrips'
import type { RoundTrips } from './roundTrips'
import { hostClockMs, type Stamps } from './stamps'
import { Inbox, withTimeout } from './wait'

export interface ReceivedMessage {
  connectionId: string
  content: string
  sentTime: string
  receivedAtMs: number // hostClockMs()
}

export class Connections {
  readonly messages = new Inbox<ReceivedMessage>()
  private sender: ForwardSender | null = null

  /** Listens from the start: the agent's events are to be subscribed before it is initialized. */
  constructor(
    private readonly agent: Agent,
    private readonly label: string,
    private readonly roundTrips: RoundTrips,
  ) {
    agent.events.on<BasicMessageStateChangedEvent>(BasicMessageEventTypes.BasicMessageStateChanged, ({ payload }) => {
      if (payload.basicMessageRecord.role !== BasicMessageRole.Receiver) return
      this.messages.push({
        connectionId: payload.basicMessageRecord.connectionId,
        content: payload.message.content,
        sentTime: payload.basicMessageRecord.sentTime,
        receivedAtMs: hostClockMs(),
      })
      // The inbox holds the message now. Credo's record of it would stay in the wallet for the
      // holder's whole life: one more row of the in-memory wallet for every message received.
      this.forgetBasicMessage(payload.basicMessageRecord.id)
    })
  }

  private forgetBasicMessage(recordId: string): void {
    this.agent.basicMessages
      .deleteById(recordId)
      .catch((error) => log(LogLevel.warn, `deleting basic message record ${recordId} failed: ${(error as Error).message}`))
  }

  /**
   * A single-use out-of-band invitation (DID exchange) to this agent: a forward sender invites each
   * holder with one, and finds the connection by the invitation's id. A holder with a mediator would
   * invite through it (its routing keys and endpoint), as a wallet showing a QR code does.
   */
  async createInvitation(): Promise<Wire.CreateInvitationResult> {
    const record = await this.agent.oob.createInvitation({
      handshakeProtocols: [HandshakeProtocol.DidExchange],
      autoAcceptConnection: true,
    })
    return { invitationUrl: record.outOfBandInvitation.toUrl({ domain: 'https://akrida.invalid' }), outOfBandId: record.id }
  }

  /** Sends basic messages over `connectionId` by packing forward messages here (see ForwardSender). */
  async forwardMessages(
    to: { connectionId?: string; outOfBandId?: string },
    contents: string[],
    timeoutMs: number,
    stamps: Stamps,
  ): Promise<Wire.ForwardMessagesResult> {
    this.sender ??= new ForwardSender(this.agent)
    return this.sender.forward(to, contents, timeoutMs, stamps)
  }

  /**
   * Connects by DID exchange; `stamps` gets the target's time: a mediated holder's keylist update for its
   * new key, and the request sent to the response received.
   */
  async receiveInvitation(invitationUrl: string, timeoutMs: number, stamps: Stamps): Promise<Wire.ReceiveInvitationResult> {
    checkInvitationUrl(invitationUrl, 'invitationUrl')
    const started = Date.now()
    const { outOfBandRecord, connectionRecord } = await withTimeout(
      this.agent.oob.receiveInvitationFromUrl(invitationUrl, { label: this.label, reuseConnection: false }),
      timeoutMs,
      'receiving the invitation',
    )
    if (!connectionRecord) {
      throw new CommandError('failed', 'the invitation offers no handshake protocol this holder supports, so no connection was made')
    }
    const connected = await withTimeout(
      this.agent.connections.returnWhenIsConnected(connectionRecord.id, { timeoutMs }),
      timeoutMs - (Date.now() - started),
      'completing the connection',
    )
    this.roundTrips.addTo(stamps, 'keylist', KEYLIST) // a mediated holder's new key, before the request
    this.roundTrips.addTo(stamps, 'connection', connected.id)
    return {
      connectionId: connected.id,
      outOfBandId: outOfBandRecord.id,
      invitationId: outOfBandRecord.outOfBandInvitation.id,
      theirLabel: connected.theirLabel ?? null,
      ms: Date.now() - started,
    }
  }

  async receiveMessage(connectionId: string | undefined, timeoutMs: number): Promise<Wire.ReceiveMessageResult> {
    const message = await this.messages.take(
      (item) => connectionId === undefined || item.connectionId === connectionId,
      timeoutMs,
      'waiting for a basic message',
    )
    return { connectionId: message.connectionId, content: message.content, sentTime: message.sentTime, receivedAtMs: message.receivedAtMs }
  }

  async deleteOutOfBandRecord(outOfBandId: string): Promise<Wire.DeleteOobRecordByIdResult> {
    const record = await this.agent.oob.findById(outOfBandId)
    if (!record) throw new CommandError('request', `no out-of-band record with id "${outOfBandId}"`)
    await this.agent.oob.deleteById(outOfBandId)
    return { deleted: outOfBandId }
  }
}
