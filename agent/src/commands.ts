import { LogLevel } from '@credo-ts/core'
import { randomBytes } from 'crypto'

import { Holder, parsePickupStrategy } from './holder'
import { log, parseLogLevel, setLogLevel } from './log'
import { CommandError, Request, optionalInteger, optionalString, requiredString } from './protocol'

const MAX_TIMEOUT_MS = 3_600_000

export interface Session {
  holder: Holder | null
  /** Set while a start is in progress; commands that need the holder wait for it. */
  starting: Promise<unknown> | null
  defaultTimeoutMs: number
  startedAt: number
}

export type Handler = (request: Request, session: Session) => Promise<unknown>

function timeoutOf(request: Request, session: Session): number {
  return optionalInteger(request, 'timeoutMs', 1, MAX_TIMEOUT_MS) ?? session.defaultTimeoutMs
}

async function started(session: Session, command: string): Promise<Holder> {
  if (session.starting) await session.starting.catch(() => undefined)
  if (!session.holder) throw new CommandError('request', `${command} needs a started holder; send "start" first`)
  return session.holder
}

async function start(request: Request, session: Session) {
  if (session.holder || session.starting) throw new CommandError('request', 'the holder is already started')
  let logLevel: LogLevel
  try {
    logLevel = parseLogLevel(optionalString(request, 'logLevel') ?? process.env.AKRIDA_AGENT_LOG_LEVEL)
  } catch (error) {
    throw new CommandError('request', (error as Error).message)
  }
  setLogLevel(logLevel)
  const began = Date.now()
  const starting = Holder.start({
      label: optionalString(request, 'label') ?? `akrida-holder-${randomBytes(4).toString('hex')}`,
      logLevel,
      timeoutMs: timeoutOf(request, session),
      mediatorInvitationUrl: optionalString(request, 'mediatorInvitationUrl'),
      pickupStrategy: parsePickupStrategy(optionalString(request, 'pickupStrategy')),
      inboundPort: optionalInteger(request, 'inboundPort', 1, 65535),
      endpoint: optionalString(request, 'endpoint'),
      ledgerGenesisPath: optionalString(request, 'ledgerGenesisPath'),
    })
  session.starting = starting
  try {
    session.holder = await starting
  } finally {
    session.starting = null
  }
  const holder = session.holder
  return {
    label: holder.options.label,
    endpoints: holder.agent.config.endpoints,
    mediation: await holder.mediatorInfo(),
    ms: Date.now() - began,
  }
}

const handlers: Record<string, Handler> = {
  start,

  async ping_mediator(request, session) {
    return (await started(session, 'ping_mediator')).pingMediator(timeoutOf(request, session))
  },

  async receiveInvitation(request, session) {
    const holder = await started(session, 'receiveInvitation')
    return holder.receiveInvitation(requiredString(request, 'invitationUrl'), timeoutOf(request, session))
  },

  async receiveMessage(request, session) {
    const holder = await started(session, 'receiveMessage')
    return holder.receiveMessage(optionalString(request, 'connectionId'), timeoutOf(request, session))
  },

  async createDidKey(_request, session) {
    return (await started(session, 'createDidKey')).createDidKey()
  },

  async receiveCredential(request, session) {
    const holder = await started(session, 'receiveCredential')
    return holder.exchanges.receiveCredential(optionalString(request, 'connectionId'), timeoutOf(request, session))
  },

  async presentationExchange(request, session) {
    const holder = await started(session, 'presentationExchange')
    return holder.exchanges.presentationExchange(optionalString(request, 'connectionId'), timeoutOf(request, session))
  },

  async deleteOobRecordById(request, session) {
    return (await started(session, 'deleteOobRecordById')).deleteOutOfBandRecord(requiredString(request, 'outOfBandId'))
  },

  async status(_request, session) {
    const memory = process.memoryUsage()
    return {
      started: session.holder !== null,
      label: session.holder?.options.label ?? null,
      pid: process.pid,
      uptimeMs: Date.now() - session.startedAt,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      pendingMessages: session.holder?.messages.size ?? 0,
      versions: { node: process.versions.node, credo: credoVersion() },
    }
  },

  async shutdown(request, session) {
    const holder = session.holder
    session.holder = null
    if (holder) await holder.shutdown(timeoutOf(request, session))
    return 'ok'
  },
}

function credoVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require('@credo-ts/core/package.json').version
}

export function findHandler(command: string): Handler {
  const handler = Object.prototype.hasOwnProperty.call(handlers, command) ? handlers[command] : undefined
  if (!handler) {
    throw new CommandError('request', `unknown command "${command}"; known commands: ${Object.keys(handlers).join(', ')}`)
  }
  log(LogLevel.debug, `command ${command}`)
  return handler
}
