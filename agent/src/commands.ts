import { LogLevel } from '@credo-ts/core'
import { version as credoVersion } from '@credo-ts/core/package.json'
import { randomBytes } from 'crypto'
import { isAbsolute } from 'node:path'

import { Holder, KeptWallet, parsePickupStrategy } from './holder'
import { log, parseLogLevel, setLogLevel } from './log'
import { DEFAULT_HANDLE, HolderHost } from './host'
import { Stamps, takeLoopDelay } from './stamps'
import {
  CommandError,
  CommandName,
  CommandRequest,
  Request,
  Results,
  optionalBoolean,
  optionalInteger,
  optionalString,
  requiredString,
  requiredStrings,
} from './protocol'

const MAX_TIMEOUT_MS = 3_600_000
// The most messages one forward_messages command packs and posts.
const MAX_FORWARDS = 1000

/** What a handler of command C is given: the request, the process's holders and the handle the request names. */
export interface Context<C extends CommandName = CommandName> {
  request: CommandRequest<C>
  host: HolderHost
  handle: string
  /** The command's stamps: a command that waits on the target adds each wait (Stamps.waited). */
  stamps: Stamps
}

/** A command's handler: tsc holds its result to the schema's, and its reads to the arguments the schema declares. */
type Handler<C extends CommandName> = (context: Context<C>) => Promise<Results[C]>

function timeoutOf({ request, host }: Context): number {
  return optionalInteger(request, 'timeoutMs', 1, MAX_TIMEOUT_MS) ?? host.defaultTimeoutMs
}

async function start(context: Context<'start'>): Promise<Results['start']> {
  const { request, host, handle } = context
  let logLevel: LogLevel
  try {
    logLevel = parseLogLevel(optionalString(request, 'logLevel') ?? process.env.AKRIDA_AGENT_LOG_LEVEL)
  } catch (error) {
    throw new CommandError('request', (error as Error).message)
  }
  // Read every argument before the slot is taken, so a bad one leaves nothing behind.
  const options = {
    label: optionalString(request, 'label') ?? `akrida-holder-${randomBytes(4).toString('hex')}`,
    logLevel,
    timeoutMs: timeoutOf(context),
    mediatorInvitationUrl: optionalString(request, 'mediatorInvitationUrl'),
    pickupStrategy: parsePickupStrategy(optionalString(request, 'pickupStrategy')),
    inboundPort: optionalInteger(request, 'inboundPort', 1, 65535),
    inboundHost: optionalString(request, 'inboundHost') ?? '127.0.0.1',
    endpoint: optionalString(request, 'endpoint'),
    ledgerGenesisPath: optionalString(request, 'ledgerGenesisPath'),
    wallet: keptWallet(optionalString(request, 'walletPath'), optionalString(request, 'walletKey')),
  }
  setLogLevel(logLevel)
  const began = Date.now()
  const holder = await host.start(handle, () => Holder.start(options, context.stamps))
  return {
    holder: handle === DEFAULT_HANDLE ? null : handle,
    label: holder.options.label,
    endpoints: holder.agent.config.endpoints,
    mediation: await holder.mediatorInfo(),
    returning: holder.returning,
    ms: Date.now() - began,
  }
}

/** A wallet kept on disk between runs: both its folder and its key, or neither (an in-memory wallet). */
function keptWallet(path: string | undefined, key: string | undefined): KeptWallet | undefined {
  if (path === undefined && key === undefined) return undefined
  if (path === undefined || key === undefined) {
    throw new CommandError('request', 'walletPath and walletKey go together: give both for a kept wallet, or neither')
  }
  if (!isAbsolute(path)) throw new CommandError('request', `walletPath must be an absolute folder, not "${path}"`)
  return { path, key }
}

const handlers: { [C in CommandName]: Handler<C> } = {
  start,

  async ping_mediator(context) {
    const responseRequested = optionalBoolean(context.request, 'responseRequested') ?? true
    const holder = await context.host.get(context.handle, 'ping_mediator')
    return holder.mediator.ping(timeoutOf(context), responseRequested, context.stamps)
  },

  async discover_features(context) {
    const holder = await context.host.get(context.handle, 'discover_features')
    return holder.mediator.discoverFeatures(optionalString(context.request, 'match') ?? '*', timeoutOf(context))
  },

  async drop_connection(context) {
    return (await context.host.get(context.handle, 'drop_connection')).connectivity.dropConnection(timeoutOf(context))
  },

  async mediator_sockets(context) {
    return (await context.host.get(context.handle, 'mediator_sockets')).connectivity.mediatorSocketAddresses()
  },

  async go_offline(context) {
    return (await context.host.get(context.handle, 'go_offline')).connectivity.goOffline(timeoutOf(context))
  },

  async go_online(context) {
    return (await context.host.get(context.handle, 'go_online')).connectivity.goOnline(timeoutOf(context))
  },

  async create_invitation(context) {
    return (await context.host.get(context.handle, 'create_invitation')).connections.createInvitation()
  },

  async forward_messages(context) {
    const holder = await context.host.get(context.handle, 'forward_messages')
    const { request } = context
    const to = { connectionId: optionalString(request, 'connectionId'), outOfBandId: optionalString(request, 'outOfBandId') }
    const contents = requiredStrings(request, 'contents', MAX_FORWARDS)
    return holder.connections.forwardMessages(to, contents, timeoutOf(context), context.stamps)
  },

  async receiveInvitation(context) {
    const holder = await context.host.get(context.handle, 'receiveInvitation')
    return holder.connections.receiveInvitation(requiredString(context.request, 'invitationUrl'), timeoutOf(context), context.stamps)
  },

  async receiveMessage(context) {
    const holder = await context.host.get(context.handle, 'receiveMessage')
    return holder.connections.receiveMessage(optionalString(context.request, 'connectionId'), timeoutOf(context))
  },

  async createDidKey(context) {
    return (await context.host.get(context.handle, 'createDidKey')).exchanges.createDidKey()
  },

  async receiveCredential(context) {
    const holder = await context.host.get(context.handle, 'receiveCredential')
    return holder.exchanges.receiveCredential(optionalString(context.request, 'connectionId'), timeoutOf(context), context.stamps)
  },

  async presentationExchange(context) {
    const holder = await context.host.get(context.handle, 'presentationExchange')
    return holder.exchanges.presentationExchange(optionalString(context.request, 'connectionId'), timeoutOf(context), context.stamps)
  },

  async deleteOobRecordById(context) {
    const holder = await context.host.get(context.handle, 'deleteOobRecordById')
    return holder.connections.deleteOutOfBandRecord(requiredString(context.request, 'outOfBandId'))
  },

  // Its result type is declared, not inferred: tsc checks a returned literal for extra fields only against a declared type.
  async status({ host, handle }): Promise<Results['status']> {
    // A named holder must exist; the process itself (no handle) answers even before any start.
    const holder = handle === DEFAULT_HANDLE ? host.peek(handle) : await host.get(handle, 'status')
    const memory = process.memoryUsage()
    return {
      started: holder !== null,
      label: holder?.options.label ?? null,
      holders: host.size,
      pid: process.pid,
      uptimeMs: Date.now() - host.startedAt,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      pendingMessages: holder?.connections.messages.size ?? 0,
      versions: { node: process.versions.node, credo: credoVersion },
    }
  },

  async event_loop_delay() {
    // The process's, whichever holder the request names: all of them share the one loop.
    return takeLoopDelay()
  },

  async shutdown(context) {
    const { host, handle } = context
    if (handle === DEFAULT_HANDLE) {
      // The single-holder meaning: close everything; the process exits after the reply.
      await host.closeAll(timeoutOf(context))
      return 'ok'
    }
    if (!(await host.close(handle, timeoutOf(context)))) {
      throw new CommandError('request', `unknown holder "${handle}": it was never started here or is already shut down`)
    }
    return 'ok'
  },
}

/** The names of every command, for the protocol's conformance checks and error messages. */
export const COMMANDS = Object.keys(handlers)

function isCommand(command: string): command is CommandName {
  return Object.prototype.hasOwnProperty.call(handlers, command)
}

/** Runs the request's command. Its handler reads the arguments, checking each as it does. */
export async function runCommand(context: Omit<Context, 'request'> & { request: Request }): Promise<unknown> {
  const command = context.request.cmd
  if (!isCommand(command)) {
    throw new CommandError('request', `unknown command "${command}"; known commands: ${COMMANDS.join(', ')}`)
  }
  log(LogLevel.debug, `command ${command}`)
  // The one place an unchecked request meets its command's type: cmd has just been checked, and its
  // other fields stay `unknown` to the handler until a reader has checked them.
  return dispatch(command, { ...context, request: context.request as CommandRequest<typeof command> })
}

function dispatch<C extends CommandName>(command: C, context: Context<C>): Promise<Results[C]> {
  return handlers[command](context)
}
