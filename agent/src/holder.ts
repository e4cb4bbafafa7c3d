import {
  Agent,
  BasicMessageEventTypes,
  BasicMessageRole,
  ConsoleLogger,
  HandshakeProtocol,
  KeyType,
  HttpOutboundTransport,
  KeyDerivationMethod,
  LogLevel,
  MediatorPickupStrategy,
  TransportEventTypes,
  TrustPingEventTypes,
  WsOutboundTransport,
} from '@credo-ts/core'
import type {
  BasicMessageStateChangedEvent,
  OutboundWebSocketClosedEvent,
  OutboundWebSocketOpenedEvent,
  TrustPingResponseReceivedEvent,
} from '@credo-ts/core'
import { HttpInboundTransport, agentDependencies } from '@credo-ts/node'
import { ariesAskar } from '@hyperledger/aries-askar-nodejs'
import { randomBytes } from 'crypto'
import { existsSync, mkdirSync } from 'fs'
import { createServer } from 'net'
import { performance } from 'perf_hooks'
import { basename, join } from 'path'

import { Exchanges } from './exchanges'
import { ForwardSender } from './forward'
import { checkInvitationUrl } from './invitation'
import { ModuleOptions, buildModules, prepareAnonCreds } from './modules'
import { log } from './log'
import { CommandError } from './protocol'
import type * as Wire from './protocol.generated'
import { Stamps } from './stamps'
import { Inbox, withTimeout } from './wait'

export type PickupStrategyName = 'implicit' | 'pickup_v1' | 'pickup_v2' | 'pickup_v2_live' | 'none'

const PICKUP_STRATEGIES: Record<PickupStrategyName, MediatorPickupStrategy> = {
  implicit: MediatorPickupStrategy.Implicit,
  pickup_v1: MediatorPickupStrategy.PickUpV1,
  pickup_v2: MediatorPickupStrategy.PickUpV2,
  pickup_v2_live: MediatorPickupStrategy.PickUpV2LiveMode,
  none: MediatorPickupStrategy.None,
}

export function parsePickupStrategy(value: string | undefined): MediatorPickupStrategy {
  const name = (value ?? 'implicit') as PickupStrategyName
  if (!(name in PICKUP_STRATEGIES)) {
    throw new CommandError('request', `unknown pickupStrategy "${value}"; expected one of ${Object.keys(PICKUP_STRATEGIES).join(', ')}`)
  }
  return PICKUP_STRATEGIES[name]
}

/** A wallet kept on disk (HOLDER_WALLETS=keep): its folder and its raw askar key. */
export interface KeptWallet {
  path: string
  key: string
}

export interface StartOptions extends ModuleOptions {
  wallet?: KeptWallet
  label: string
  logLevel: LogLevel
  timeoutMs: number
  inboundPort?: number
  inboundHost: string
  endpoint?: string
}

export interface ReceivedMessage {
  connectionId: string
  content: string
  sentTime: string
  receivedAt: number
}

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

interface PingResponse {
  threadId: string
  connectionId: string
  at: number // performance.now() when Credo handed it over
}

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex')

/** One simulated wallet: a Credo agent with an in-memory wallet and the inboxes the commands read. */
export class Holder {
  readonly messages = new Inbox<ReceivedMessage>()
  readonly exchanges: Exchanges
  private readonly pingResponses = new Inbox<PingResponse>(100)
  // Every WebSocket to the mediator that opened or closed, for drop_connection and go_online to wait on.
  private readonly socketsOpened = new Inbox<SocketEvent>(100)
  private readonly socketsClosed = new Inbox<SocketEvent>(100)
  private mediatorConnectionId: string | null = null
  /** False between go_offline and go_online: message pickup stopped, no socket to the mediator. */
  online = true
  /** Started from a kept wallet that already existed: its connections and mediation were reused. */
  returning = false

  private constructor(
    readonly agent: Agent,
    readonly options: StartOptions,
    private readonly ws: WsOutboundTransport,
  ) {
    this.exchanges = new Exchanges(agent)
  }

  static async start(options: StartOptions): Promise<Holder> {
    if (options.mediatorInvitationUrl) checkInvitationUrl(options.mediatorInvitationUrl, 'mediatorInvitationUrl')
    const withMediation = options.mediatorInvitationUrl !== undefined
    if (!withMediation && options.inboundPort === undefined) {
      throw new CommandError('request', 'start without mediatorInvitationUrl needs an inboundPort for the HTTP inbound transport')
    }
    // Credo's HTTP inbound transport reports a taken port as an uncaught 'error' event, long after
    // initialize() was called; finding it first keeps it this holder's own `local` failure.
    if (!withMediation) await ensurePortFree(options.inboundPort as number, options.inboundHost)
    const kept = options.wallet
    const walletFile = kept ? join(kept.path, 'sqlite.db') : undefined
    const returning = walletFile !== undefined && existsSync(walletFile)
    if (kept) mkdirSync(kept.path, { recursive: true })
    const agent = new Agent({
      config: {
        label: options.label,
        // A fresh holder's wallet lives as long as the process: nothing to persist. A kept one is a
        // file, so that the same holder returns with its connections and mediation next run.
        // A raw key skips Argon2, which costs CPU-seconds per holder and protects nothing here.
        walletConfig: {
          id: kept ? `holder-${basename(kept.path)}` : `holder-${randomHex(8)}`,
          key: kept ? kept.key : ariesAskar.storeGenerateRawKey({}),
          keyDerivationMethod: KeyDerivationMethod.Raw,
          storage: walletFile ? { type: 'sqlite', config: { path: walletFile } } : { type: 'sqlite', config: { inMemory: true } },
        },
        logger: new ConsoleLogger(options.logLevel),
        endpoints: withMediation ? undefined : [options.endpoint ?? `http://127.0.0.1:${options.inboundPort}`],
      },
      dependencies: agentDependencies,
      modules: await buildModules(options),
    })
    const ws = new WsOutboundTransport()
    agent.registerOutboundTransport(ws)
    agent.registerOutboundTransport(new HttpOutboundTransport())
    if (!withMediation) {
      const inbound = new HttpInboundTransport({ port: options.inboundPort as number })
      listenOnlyOn(inbound, options.inboundHost)
      agent.registerInboundTransport(inbound)
    }

    const holder = new Holder(agent, options, ws)
    holder.returning = returning
    holder.subscribe()
    try {
      // With mediation, initialize() also connects to the mediator and waits for the grant.
      await withTimeout(agent.initialize(), options.timeoutMs, 'agent initialization and mediation')
    } catch (error) {
      throw classifyStartError(error)
    }
    try {
      await prepareAnonCreds(agent, options)
    } catch (error) {
      throw new CommandError('local', `setting up AnonCreds failed: ${(error as Error).message}`)
    }
    if (withMediation) {
      const mediator = await agent.mediationRecipient.findDefaultMediator()
      if (!mediator || !mediator.isReady) {
        throw new CommandError('failed', `mediation was not granted (state: ${mediator ? mediator.state : 'no mediation record'})`)
      }
      holder.mediatorConnectionId = mediator.connectionId
    }
    return holder
  }

  private subscribe(): void {
    this.agent.events.on<BasicMessageStateChangedEvent>(BasicMessageEventTypes.BasicMessageStateChanged, ({ payload }) => {
      if (payload.basicMessageRecord.role !== BasicMessageRole.Receiver) return
      this.messages.push({
        connectionId: payload.basicMessageRecord.connectionId,
        content: payload.message.content,
        sentTime: payload.basicMessageRecord.sentTime,
        receivedAt: Date.now(),
      })
      // The inbox holds the message now. Credo's record of it would stay in the wallet for the
      // holder's whole life: one more row of the in-memory wallet for every message received.
      this.forgetBasicMessage(payload.basicMessageRecord.id)
    })
    // Only the mediator's sockets are of interest; events of other connections are left alone.
    const isMediator = (connectionId?: string) => connectionId !== undefined && connectionId === this.mediatorConnectionId
    this.agent.events.on<OutboundWebSocketOpenedEvent>(TransportEventTypes.OutboundWebSocketOpenedEvent, ({ payload }) => {
      if (isMediator(payload.connectionId)) this.socketsOpened.push(payload)
    })
    this.agent.events.on<OutboundWebSocketClosedEvent>(TransportEventTypes.OutboundWebSocketClosedEvent, ({ payload }) => {
      if (isMediator(payload.connectionId)) this.socketsClosed.push(payload)
    })
    this.agent.events.on<TrustPingResponseReceivedEvent>(TrustPingEventTypes.TrustPingResponseReceivedEvent, ({ payload }) => {
      const at = performance.now() // the answer came: stamped before it waits for its command's turn
      this.pingResponses.push({ threadId: payload.message.threadId, connectionId: payload.connectionRecord.id, at })
    })
  }

  private forgetBasicMessage(recordId: string): void {
    this.agent.basicMessages
      .deleteById(recordId)
      .catch((error) => log(LogLevel.warn, `deleting basic message record ${recordId} failed: ${(error as Error).message}`))
  }

  async mediatorInfo(): Promise<Wire.StartResult['mediation']> {
    if (!this.options.mediatorInvitationUrl) return null
    const mediator = await this.agent.mediationRecipient.findDefaultMediator()
    return {
      state: mediator?.state ?? null,
      connectionId: mediator?.connectionId ?? null,
      endpoint: mediator?.endpoint ?? null,
      routingKeys: mediator?.routingKeys ?? [],
      pickupStrategy: this.options.pickupStrategy,
    }
  }

  /**
   * A trust ping to the mediator. With `responseRequested` false it asks for no answer and returns
   * once sent: ACA-Py's implicit pickup hands back one queued message on a return-routed inbound
   * message only when no response fills the session's one-message buffer, so this is how a holder
   * asks it for the next queued message.
   */
  async pingMediator(timeoutMs: number, responseRequested = true, stamps: Stamps = new Stamps()): Promise<Wire.PingMediatorResult> {
    if (!this.options.mediatorInvitationUrl) {
      throw new CommandError('request', 'ping_mediator needs a holder started with a mediatorInvitationUrl')
    }
    const connection = await this.agent.mediationRecipient.findDefaultMediatorConnection()
    if (!connection) throw new CommandError('local', 'the holder has no mediator connection')
    const started = Date.now()
    // The target's round trip starts as the ping is handed to Credo: packing it is a few milliseconds of
    // this process's work, but the send itself may wait on the target (a WebSocket to open again).
    stamps.sent = performance.now()
    const ping = await withTimeout(
      this.agent.connections.sendPing(connection.id, { responseRequested }),
      timeoutMs,
      'sending trust ping to the mediator',
    )
    if (responseRequested) {
      const response = await this.pingResponses.take(
        (response) => response.threadId === ping.id,
        timeoutMs - (Date.now() - started),
        'mediator trust ping response',
      )
      stamps.answered = response.at
    }
    return { connectionId: connection.id, roundTripMs: Date.now() - started }
  }

  /**
   * Asks the mediator which protocols it supports (DIDComm discover-features 1.0) whose id matches
   * `match` (`*` wildcards), and waits for its answer.
   */
  async discoverMediatorFeatures(match: string, timeoutMs: number): Promise<Wire.DiscoverFeaturesResult> {
    if (!this.options.mediatorInvitationUrl) {
      throw new CommandError('request', 'discover_features needs a holder started with a mediatorInvitationUrl')
    }
    const connection = await this.agent.mediationRecipient.findDefaultMediatorConnection()
    if (!connection) throw new CommandError('local', 'the holder has no mediator connection')
    const started = Date.now()
    const { features } = await withTimeout(
      this.agent.discovery.queryFeatures({
        connectionId: connection.id,
        protocolVersion: 'v1',
        queries: [{ featureType: 'protocol', match }],
        awaitDisclosures: true,
        awaitDisclosuresTimeoutMs: timeoutMs,
      }),
      timeoutMs + 1000,
      'the mediator disclosing its features',
    )
    if (features === undefined) throw new CommandError('timeout', 'the mediator did not disclose its features in time')
    return { protocols: features.map((feature) => feature.id).sort(), ms: Date.now() - started }
  }

  /** The open WebSockets to the mediator, from Credo's WS transport (its table is private). */
  private mediatorSockets(): Socket[] {
    const table = (this.ws as unknown as { transportTable: Map<string, Socket> }).transportTable
    const suffix = `-${this.mediatorConnectionId}`
    return [...table.entries()].filter(([socketId]) => socketId.endsWith(suffix)).map(([, socket]) => socket)
  }

  private needsMediation(command: string): void {
    if (!this.options.mediatorInvitationUrl || this.mediatorConnectionId === null) {
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

  private sender: ForwardSender | null = null

  /** Sends basic messages over `connectionId` by packing forward messages here (see ForwardSender). */
  async forwardMessages(
    to: { connectionId?: string; outOfBandId?: string },
    contents: string[],
    timeoutMs: number,
  ): Promise<Wire.ForwardMessagesResult> {
    this.sender ??= new ForwardSender(this.agent)
    return this.sender.forward(to, contents, timeoutMs)
  }

  async receiveInvitation(invitationUrl: string, timeoutMs: number): Promise<Wire.ReceiveInvitationResult> {
    checkInvitationUrl(invitationUrl, 'invitationUrl')
    const started = Date.now()
    const { outOfBandRecord, connectionRecord } = await withTimeout(
      this.agent.oob.receiveInvitationFromUrl(invitationUrl, { label: this.options.label, reuseConnection: false }),
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
    return { connectionId: message.connectionId, content: message.content, sentTime: message.sentTime }
  }

  /** A did:key for the holder to be the subject of W3C credentials. */
  async createDidKey(): Promise<Wire.CreateDidKeyResult> {
    const result = await this.agent.dids.create({ method: 'key', options: { keyType: KeyType.Ed25519 } })
    if (result.didState.state !== 'finished' || !result.didState.did) {
      throw new CommandError('local', `creating a did:key failed: ${JSON.stringify(result.didState)}`)
    }
    return { did: result.didState.did }
  }

  async deleteOutOfBandRecord(outOfBandId: string): Promise<Wire.DeleteOobRecordByIdResult> {
    const record = await this.agent.oob.findById(outOfBandId)
    if (!record) throw new CommandError('request', `no out-of-band record with id "${outOfBandId}"`)
    await this.agent.oob.deleteById(outOfBandId)
    return { deleted: outOfBandId }
  }

  async shutdown(timeoutMs: number): Promise<void> {
    await withTimeout(this.agent.shutdown(), timeoutMs, 'agent shutdown')
  }
}

function ensurePortFree(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new CommandError(
          'local',
          error.code === 'EADDRINUSE'
            ? `inbound port ${host}:${port} already in use`
            : `inbound port ${host}:${port} cannot be used (${error.code ?? error.message})`,
        ),
      ),
    )
    probe.listen(port, host, () => probe.close(() => resolve()))
  })
}

/** Credo's HTTP inbound transport listens on every interface; a holder listens on `host` alone. */
function listenOnlyOn(transport: HttpInboundTransport, host: string): void {
  const listen = transport.app.listen.bind(transport.app)
  transport.app.listen = ((port: number) => listen(port, host)) as typeof transport.app.listen
}

function classifyStartError(error: unknown): CommandError {
  if (error instanceof CommandError) return error
  const message = error instanceof Error ? error.message : String(error)
  if (/EADDRINUSE/.test(message)) return new CommandError('local', `inbound port already in use: ${message}`)
  if (/wallet|storeOpen|askar/i.test(message)) return new CommandError('local', `the holder's wallet failed: ${message}`)
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|fetch failed/i.test(message)) {
    return new CommandError('failed', `the mediator could not be reached: ${message}`)
  }
  // Credo's own waits (the mediation grant, a pickup) end with rxjs's "Timeout has occurred".
  if (/Timeout has occurred/.test(message)) return new CommandError('timeout', `start timed out inside Credo: ${message}`)
  log(LogLevel.error, `start failed: ${error instanceof Error ? error.stack : message}`)
  return new CommandError('failed', `start failed: ${message}`)
}
