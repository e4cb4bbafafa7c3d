// The Credo modules of one holder. AnonCreds (with an Indy ledger) is loaded only when a start asks
// for it: its native libraries and code would otherwise cost every holder start-up time and memory.
import {
  AutoAcceptCredential,
  AutoAcceptProof,
  ConnectionsModule,
  CredentialsModule,
  DidsModule,
  DifPresentationExchangeProofFormatService,
  JsonLdCredentialFormatService,
  KeyDidResolver,
  MediationRecipientModule,
  MediatorPickupStrategy,
  PeerDidResolver,
  ProofsModule,
  V2CredentialProtocol,
  V2ProofProtocol,
  W3cCredentialsModule,
} from '@credo-ts/core'
import type { Agent, Module } from '@credo-ts/core'
import { ariesAskar } from '@hyperledger/aries-askar-nodejs'
import { readFileSync } from 'fs'

import { skipDiscardedErrorStacks } from './askarErrors'
import { freeAskarLeaks } from './askarLeaks'
import { offlineDocumentLoader } from './documentLoader'
import { cacheWalletKeys } from './keyCache'
import { cacheLongMultibaseDecoding } from './multibaseCache'
import { balancePointerTable } from './pointerTable'
import { HolderAskarModule } from './memoryStorage'
import { rememberValidationRules } from './validatorCache'
import { CommandError } from './protocol'

export interface ModuleOptions {
  mediatorInvitationUrl?: string
  pickupStrategy: MediatorPickupStrategy
  /** Path of an Indy pool's genesis file: enables AnonCreds (legacy indy formats, v1 and v2). */
  ledgerGenesisPath?: string
}

export const INDY_NAMESPACE = 'akrida:ledger'

// Before any holder touches its wallet: the native calls under it leak memory on every read
// (docs/density.md, "Memory over time").
balancePointerTable()
freeAskarLeaks()
// Before its first call: it builds an error it throws away on each of them (askarErrors.ts).
skipDiscardedErrorStacks()
// did:peer:4 DIDs are decoded from base58 again for every message sent (multibaseCache.ts).
cacheLongMultibaseDecoding()
// Every message received is validated, and class-validator looks its rules up afresh each time.
rememberValidationRules()
// Every message sent or received fetches the holder's key of it from its wallet again (keyCache.ts).
cacheWalletKeys()

export async function buildModules(options: ModuleOptions): Promise<Record<string, Module>> {
  const credentialFormats: unknown[] = [new JsonLdCredentialFormatService()]
  const proofFormats: unknown[] = [new DifPresentationExchangeProofFormatService()]
  const credentialProtocols: unknown[] = []
  const proofProtocols: unknown[] = []
  const modules: Record<string, Module> = {
    // Askar's module, with the records of a wallet in memory kept in JavaScript (memoryStorage.ts).
    askar: new HolderAskarModule({ ariesAskar }),
    connections: new ConnectionsModule({ autoAcceptConnections: true }),
    w3cCredentials: new W3cCredentialsModule({ documentLoader: offlineDocumentLoader }),
  }

  if (options.ledgerGenesisPath) {
    let genesisTransactions: string
    try {
      genesisTransactions = readFileSync(options.ledgerGenesisPath, 'utf8')
    } catch (error) {
      throw new CommandError('request', `ledgerGenesisPath cannot be read: ${(error as Error).message}`)
    }
    // Loaded here, not at the top: a dynamic import compiles to a require() made only on this path.
    // In this order: the native wrappers register themselves before Credo's modules use them.
    const { anoncreds } = await import('@hyperledger/anoncreds-nodejs')
    const { indyVdr } = await import('@hyperledger/indy-vdr-nodejs')
    const anon = await import('@credo-ts/anoncreds')
    const vdr = await import('@credo-ts/indy-vdr')
    const indyCredentialFormat = new anon.LegacyIndyCredentialFormatService()
    const indyProofFormat = new anon.LegacyIndyProofFormatService()
    credentialFormats.unshift(indyCredentialFormat)
    proofFormats.unshift(indyProofFormat)
    credentialProtocols.push(new anon.V1CredentialProtocol({ indyCredentialFormat }))
    proofProtocols.push(new anon.V1ProofProtocol({ indyProofFormat }))
    modules.indyVdr = new vdr.IndyVdrModule({
      indyVdr,
      networks: [{ isProduction: false, indyNamespace: INDY_NAMESPACE, genesisTransactions, connectOnStartup: true }],
    })
    modules.anoncreds = new anon.AnonCredsModule({ registries: [new vdr.IndyVdrAnonCredsRegistry()], anoncreds })
    modules.dids = new DidsModule({
      resolvers: [new vdr.IndyVdrSovDidResolver(), new vdr.IndyVdrIndyDidResolver(), new KeyDidResolver(), new PeerDidResolver()],
    })
  }

  // ContentApproved: the holder accepts what it asked for; unsolicited offers and requests are
  // accepted by the receiveCredential and presentationExchange commands themselves.
  modules.credentials = new CredentialsModule({
    autoAcceptCredentials: AutoAcceptCredential.ContentApproved,
    credentialProtocols: [
      ...credentialProtocols,
      new V2CredentialProtocol({ credentialFormats: credentialFormats as [JsonLdCredentialFormatService] }),
    ] as never,
  })
  modules.proofs = new ProofsModule({
    autoAcceptProofs: AutoAcceptProof.ContentApproved,
    proofProtocols: [
      ...proofProtocols,
      new V2ProofProtocol({ proofFormats: proofFormats as [DifPresentationExchangeProofFormatService] }),
    ] as never,
  })
  if (options.mediatorInvitationUrl) {
    modules.mediationRecipient = new MediationRecipientModule({
      mediatorInvitationUrl: options.mediatorInvitationUrl,
      mediatorPickupStrategy: options.pickupStrategy,
      // Credo doubles the wait between reconnections without end by default: after a mediator
      // outage of a minute, a wallet would stay away for another minute or more.
      maximumMediatorReconnectionIntervalMs: MAX_RECONNECT_INTERVAL_MS,
    })
  }
  return modules
}

/** The longest wait between two reconnections to the mediator (Credo starts at 100 ms and doubles). */
export const MAX_RECONNECT_INTERVAL_MS = 2_000

/** AnonCreds holders need a link secret before they can take a credential. */
export async function prepareAnonCreds(agent: Agent, options: ModuleOptions): Promise<void> {
  if (!options.ledgerGenesisPath) return
  const { AnonCredsApi } = await import('@credo-ts/anoncreds')
  await agent.dependencyManager.resolve(AnonCredsApi).createLinkSecret({ setAsDefault: true })
}
