// A holder's WebSocket to the mediator: the commands that take it away and bring it back (go_offline,
// go_online, drop_connection) and the one that tells a packet filter which it is (mediator_sockets).
import { Agent, TransportEventTypes, WsOutboundTransport } from '@credo-ts/core'
import type { OutboundWebSocketClosedEvent, OutboundWebSocketOpenedEvent } from '@credo-ts/core'

import { CommandError } from './protocol'
import type * as Wire from './protocol.generated'
import { Inbox, withTimeout } from './wait'

/** The part of a `ws` WebSocket that dropping a connection uses. */
interface Socket {
  readyState: number
  close(): void
  terminate?: () => void
  // ws keeps the TCP socket under this private name; its addresses name the connection to a packet filter.
  _socket?: { localAddress?: string; localPort?: number; remoteAddress?: string; remotePort?: number }
}

/** One TCP connection to the mediator, as the holder's side sees it. */
type SocketAddress = Wire.MediatorSocketsResult['sockets'][number]

const OPEN = 1 // WebSocket.OPEN

interface SocketEvent {
  connectionId?: string
  socketId: string
}

/** One holder's link to its mediator, and whether it is up. */
export class Connectivity {
  // Every WebSocket to the mediator that opened or closed, for drop_connection and go_online to wait on.
  private readonly socketsOpened = new Inbox<SocketEvent>(100)
  private readonly socketsClosed = new Inbox<SocketEvent>(100)
  private mediatorConnectionId: string | null = null
  /** False between go_offline and go_online: message pickup stopped, no socket to the mediator. */
  online = true

  /** Listens from the start: the agent's events are to be subscribed before it is initialized. */
  constructor(
    private readonly agent: Agent,
    private readonly ws: WsOutboundTransport,
  ) {
    // Only the mediator's sockets are of interest; events of other connections are left alone.
    const isMediator = (connectionId?: string) => connectionId !== undefined && connectionId === this.mediatorConnectionId
    agent.events.on<OutboundWebSocketOpenedEvent>(TransportEventTypes.OutboundWebSocketOpenedEvent, ({ payload }) => {
      if (isMediator(payload.connectionId)) this.socketsOpened.push(payload)
    })
    agent.events.on<OutboundWebSocketClosedEvent>(TransportEventTypes.OutboundWebSocketClosedEvent, ({ payload }) => {
      if (isMediator(payload.connectionId)) this.socketsClosed.push(payload)
    })
  }

  /** The mediator granted mediation over `connectionId`: its sockets are the ones these commands act on. */
  mediatedBy(connectionId: string): void {
    this.mediatorConnectionId = connectionId
  }

  /** The open WebSockets to the mediator, from Credo's WS transport (its table is private). */
  private mediatorSockets(): Socket[] {
    const table = (this.ws as unknown as { transportTable: Map<string, Socket> }).transportTable
    const suffix = `-${this.mediatorConnectionId}`
    return [...table.entries()].filter(([socketId]) => socketId.endsWith(suffix)).map(([, socket]) => socket)
  }

  private needsMediation(command: string): void {
    if (this.mediatorConnectionId === null) {
      throw new CommandError('request', `${command} needs a holder started with a mediatorInvitationUrl`)
    }
  }

  /**
   * Cuts every socket to the mediator at once, as a network drop does (no closing handshake), and
   * waits until each has closed. Returns how many there were.
   */
  private async cutMediatorSockets(timeoutMs: number): Promise<number> {
    const sockets = this.mediatorSockets()
    this.socketsClosed.clear()
    for (const socket of sockets) {
      if (socket.terminate) socket.terminate()
      else socket.close()
    }
    const started = Date.now()
    for (let closed = 0; closed < sockets.length; closed++) {
      await this.socketsClosed.take(() => true, Math.max(1, timeoutMs - (Date.now() - started)), 'closing the socket to the mediator')
    }
    return sockets.length
  }

  /**
   * The open WebSockets to the mediator, by their TCP addresses: what a packet filter needs to silence
   * this holder's connection alone, leaving the socket open on both sides (a phone gone quiet).
   */
  mediatorSocketAddresses(): Wire.MediatorSocketsResult {
    this.needsMediation('mediator_sockets')
    const sockets: SocketAddress[] = []
    for (const socket of this.mediatorSockets()) {
      const tcp = socket._socket
      if (socket.readyState !== OPEN || !tcp) continue
      const { localAddress, localPort, remoteAddress, remotePort } = tcp
      if (localAddress === undefined || localPort === undefined || remoteAddress === undefined || remotePort === undefined) continue
      sockets.push({ localAddress, localPort, remoteAddress, remotePort })
    }
    return { sockets }
  }

  /**
   * Drops the holder's WebSocket to the mediator with message pickup left running, so Credo
   * reconnects by itself; waits until a socket to the mediator is open again.
   */
  async dropConnection(timeoutMs: number): Promise<Wire.DropConnectionResult> {
    this.needsMediation('drop_connection')
    if (!this.online) throw new CommandError('request', 'drop_connection: the holder is offline (go_online first)')
    const started = Date.now()
    this.socketsOpened.clear()
    const closedSockets = await this.cutMediatorSockets(timeoutMs)
    if (closedSockets === 0) return { closedSockets, reconnectMs: null }
    await this.socketsOpened.take(() => true, Math.max(1, timeoutMs - (Date.now() - started)), 'reconnecting to the mediator')
    return { closedSockets, reconnectMs: Date.now() - started }
  }

  /** Stops message pickup and closes the sockets to the mediator; the wallet and connections stay. */
  async goOffline(timeoutMs: number): Promise<Wire.GoOfflineResult> {
    this.needsMediation('go_offline')
    if (!this.online) return { closedSockets: 0 }
    this.online = false
    // Stopped first: Credo's monitor of the mediator's socket would otherwise reconnect at once.
    await this.agent.mediationRecipient.stopMessagePickup()
    return { closedSockets: await this.cutMediatorSockets(timeoutMs) }
  }

  /** Starts message pickup again with the holder's strategy: queued messages come in from here. */
  async goOnline(timeoutMs: number): Promise<Wire.GoOnlineResult> {
    this.needsMediation('go_online')
    if (this.online) throw new CommandError('request', 'go_online: the holder is already online')
    const started = Date.now()
    await withTimeout(this.agent.mediationRecipient.initiateMessagePickup(), timeoutMs, 'starting message pickup')
    this.online = true
    return { ms: Date.now() - started }
  }
}
