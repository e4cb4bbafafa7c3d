import {
  Agent,
  ConsoleLogger,
  HttpOutboundTransport,
  KeyDerivationMethod,
  LogLevel,
  MediatorPickupStrategy,
  WsOutboundTransport,
} from '@credo-ts/core'
import { HttpInboundTransport, agentDependencies } from '@credo-ts/node'
import { ariesAskar } from '@hyperledger/aries-askar-nodejs'
import { randomBytes } from 'crypto'
import { existsSync, mkdirSync } from 'fs'
import { createServer } from 'net'
import { basename, join } from 'path'

import { Connections } from './connections'
import { Connectivity } from './connectivity'
import { Exchanges } from './exchanges'
import { checkInvitationUrl } from './invitation'
import { MediatorRequests } from './mediatorRequests'
import { RoundTrips } from './roundTrips'
import type { Stamps } from './stamps'
import { ModuleOptions, buildModules, prepareAnonCreds } from './modules'
import { log } from './log'
import { CommandError } from './protocol'
import type * as Wire from './protocol.generated'
import { withTimeout } from './wait'

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

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex')

// A fresh holder's wallet: an in-memory SQLite store with one connection, held open (with none the
// database would be gone). Askar's pool otherwise keeps several, each with its own SQLite memory: about
// 0.3 MiB more per holder, for parallel reads a holder with one writer and no nested sessions never makes
// (Credo 0.5.19's Askar wallet and storage service open one session at a time and run one operation in it).
const IN_MEMORY_WALLET = { type: 'sqlite', config: { inMemory: true, maxConnections: 1, minConnections: 1 } } as const

/**
 * One simulated wallet: a Credo agent with its wallet, started and shut down here. Its commands are
 * grouped by what they act on: its connections and messages, its link to the mediator, what it asks the
 * mediator, its credential exchanges.
 */
export class Holder {
  readonly connections: Connections
  readonly connectivity: Connectivity
  readonly mediator: MediatorRequests
  readonly exchanges: Exchanges
  /** When its protocol steps left for the target and were answered, for its commands' stamps. */
  readonly roundTrips: RoundTrips
  /** Started from a kept wallet that already existed: its connections and mediation were reused. */
  returning = false

  // The parts subscribe to the agent's events as they are made, before the agent is initialized.
  private constructor(
    readonly agent: Agent,
    readonly options: StartOptions,
    ws: WsOutboundTransport,
  ) {
    this.roundTrips = new RoundTrips(agent)
    this.connections = new Connections(agent, options.label, this.roundTrips)
    this.connectivity = new Connectivity(agent, ws)
    this.mediator = new MediatorRequests(agent, Boolean(options.mediatorInvitationUrl))
    this.exchanges = new Exchanges(agent, this.roundTrips)
  }

  /** Starts a holder; `stamps` gets the target's time: the connection to the mediator and its grant. */
  static async start(options: StartOptions, stamps: Stamps): Promise<Holder> {
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
          storage: walletFile ? { type: 'sqlite', config: { path: walletFile } } : IN_MEMORY_WALLET,
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
      holder.connectivity.mediatedBy(mediator.connectionId)
      // A returning wallet made neither now: its stamps have no ends, and add nothing.
      holder.roundTrips.addTo(stamps, 'connection', mediator.connectionId)
      holder.roundTrips.addTo(stamps, 'mediation', mediator.id)
    }
    return holder
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
