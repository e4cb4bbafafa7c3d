// Generated from agent/protocol.schema.json by scripts/protocol_types.py: do not edit.
// After changing the schema, run `make protocol-types`; tests/unit/test_protocol_types.py fails until then.

/** The fields of every request, whatever its command. */
export interface Envelope {
  cmd: string
  id?: string | number
  holder?: string
  timeoutMs?: number
}

/** Every reply. */
export interface Reply {
  error: 0 | 1
  result: unknown
  cmd?: string
  id?: string | number
  holder?: string
  kind?: 'request' | 'local' | 'timeout' | 'failed'
  timing?: {
    agentMs: number
    targetMs?: number
  }
}

export interface StartArguments {
  mediatorInvitationUrl?: string
  pickupStrategy?: 'implicit' | 'pickup_v1' | 'pickup_v2' | 'pickup_v2_live' | 'none'
  inboundPort?: number
  inboundHost?: string
  endpoint?: string
  label?: string
  ledgerGenesisPath?: string
  logLevel?: 'test' | 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'off'
  walletPath?: string
  walletKey?: string
}

export interface StartResult {
  holder: string | null
  label: string
  endpoints: string[]
  mediation: {
    state: string | null
    connectionId: string | null
    endpoint: string | null
    routingKeys: string[]
    pickupStrategy: string
  } | null
  ms: number
  returning: boolean
}

export interface PingMediatorArguments {
  responseRequested?: boolean
}

export interface PingMediatorResult {
  connectionId: string
  roundTripMs: number
}

export interface DiscoverFeaturesArguments {
  match?: string
}

export interface DiscoverFeaturesResult {
  protocols: string[]
  ms: number
}

export type DropConnectionArguments = Record<never, never>

export interface DropConnectionResult {
  closedSockets: number
  reconnectMs: number | null
}

export type MediatorSocketsArguments = Record<never, never>

export interface MediatorSocketsResult {
  sockets: {
    localAddress: string
    localPort: number
    remoteAddress: string
    remotePort: number
  }[]
}

export type GoOfflineArguments = Record<never, never>

export interface GoOfflineResult {
  closedSockets: number
}

export type GoOnlineArguments = Record<never, never>

export interface GoOnlineResult {
  ms: number
}

export type CreateInvitationArguments = Record<never, never>

export interface CreateInvitationResult {
  invitationUrl: string
  outOfBandId: string
}

export interface ForwardMessagesArguments {
  connectionId?: string
  outOfBandId?: string
  contents: string[]
}

export interface ForwardMessagesResult {
  sent: number
  packMs: number
  postMs: number
  endpoint: string
  postedAtMs: number
}

export interface ReceiveInvitationArguments {
  invitationUrl: string
}

export interface ReceiveInvitationResult {
  connectionId: string
  outOfBandId: string
  invitationId: string
  theirLabel: string | null
  ms: number
}

export interface ReceiveMessageArguments {
  connectionId?: string
}

export interface ReceiveMessageResult {
  connectionId: string
  content: string
  sentTime: string
  receivedAtMs: number
}

export type CreateDidKeyArguments = Record<never, never>

export interface CreateDidKeyResult {
  did: string
}

export interface ReceiveCredentialArguments {
  connectionId?: string
}

export interface ReceiveCredentialResult {
  credentialExchangeId: string
  threadId: string
  ms: number
}

export interface PresentationExchangeArguments {
  connectionId?: string
}

export interface PresentationExchangeResult {
  proofExchangeId: string
  threadId: string
  ms: number
}

export interface DeleteOobRecordByIdArguments {
  outOfBandId: string
}

export interface DeleteOobRecordByIdResult {
  deleted: string
}

export type StatusArguments = Record<never, never>

export interface StatusResult {
  started: boolean
  label: string | null
  holders: number
  pid: number
  uptimeMs: number
  rssBytes: number
  heapUsedBytes: number
  pendingMessages: number
  versions: {
    node: string
    credo: string
  }
}

export type EventLoopDelayArguments = Record<never, never>

export interface EventLoopDelayResult {
  p50Ms: number
  p99Ms: number
  maxMs: number
  meanMs: number
  periodMs: number
}

export type ShutdownArguments = Record<never, never>

export type ShutdownResult = 'ok'

export type CommandName =
  | 'start'
  | 'ping_mediator'
  | 'discover_features'
  | 'drop_connection'
  | 'mediator_sockets'
  | 'go_offline'
  | 'go_online'
  | 'create_invitation'
  | 'forward_messages'
  | 'receiveInvitation'
  | 'receiveMessage'
  | 'createDidKey'
  | 'receiveCredential'
  | 'presentationExchange'
  | 'deleteOobRecordById'
  | 'status'
  | 'event_loop_delay'
  | 'shutdown'

/** Each command's arguments, by its name. */
export interface Arguments {
  start: StartArguments
  ping_mediator: PingMediatorArguments
  discover_features: DiscoverFeaturesArguments
  drop_connection: DropConnectionArguments
  mediator_sockets: MediatorSocketsArguments
  go_offline: GoOfflineArguments
  go_online: GoOnlineArguments
  create_invitation: CreateInvitationArguments
  forward_messages: ForwardMessagesArguments
  receiveInvitation: ReceiveInvitationArguments
  receiveMessage: ReceiveMessageArguments
  createDidKey: CreateDidKeyArguments
  receiveCredential: ReceiveCredentialArguments
  presentationExchange: PresentationExchangeArguments
  deleteOobRecordById: DeleteOobRecordByIdArguments
  status: StatusArguments
  event_loop_delay: EventLoopDelayArguments
  shutdown: ShutdownArguments
}

/** Each command's results, by its name. */
export interface Results {
  start: StartResult
  ping_mediator: PingMediatorResult
  discover_features: DiscoverFeaturesResult
  drop_connection: DropConnectionResult
  mediator_sockets: MediatorSocketsResult
  go_offline: GoOfflineResult
  go_online: GoOnlineResult
  create_invitation: CreateInvitationResult
  forward_messages: ForwardMessagesResult
  receiveInvitation: ReceiveInvitationResult
  receiveMessage: ReceiveMessageResult
  createDidKey: CreateDidKeyResult
  receiveCredential: ReceiveCredentialResult
  presentationExchange: PresentationExchangeResult
  deleteOobRecordById: DeleteOobRecordByIdResult
  status: StatusResult
  event_loop_delay: EventLoopDelayResult
  shutdown: ShutdownResult
}
