// Keeps a holder's own private keys in memory for packing and unpacking DIDComm v1 (@credo-ts/askar 0.5.19).
//
// Every message a holder sends is packed with its key of the connection, and every message it receives
// is unpacked with the key it was sent to. Credo's Askar wallet fetches that key from the wallet each
// time: a session opened, the key fetched, the session closed, three asynchronous native calls, each
// answered through a native callback, before any crypto happens. A mediator ping does it twice.
//
// A key in an Askar wallet never changes under its name: it is created once and only ever read (Credo
// 0.5.19 never removes one). So each key fetched is kept, per store, until the wallet closes, and the
// envelope is built by Credo's own DIDComm v1 functions from it, as the wallet's pack and unpack do:
// same Askar crypto, same bytes on the wire. Keys not found are not kept (a key may be created later).
// What is kept is bounded by the wallet itself: at most every key it holds.
//
// Applied only to the exact version whose pack and unpack this file knows; with another, nothing
// changes (tests/unit/test_read_caches.py fails when the version moves).
import { AskarWallet } from '@credo-ts/askar'
import { AskarBaseWallet } from '@credo-ts/askar/build/wallet/AskarBaseWallet'
import { didcommV1Pack, didcommV1Unpack } from '@credo-ts/askar/build/wallet/didcommV1'
import { version } from '@credo-ts/askar/package.json'
import { JsonEncoder, LogLevel, WalletError } from '@credo-ts/core'
import type { EncryptedMessage } from '@credo-ts/core'
import type { Key, Store } from '@hyperledger/aries-askar-shared'

import { log } from './log'

/** The Askar wallet whose pack, unpack and close this file knows. */
export const KEY_CACHED_VERSION = '0.5.19'

/** For tests: keys answered from memory, and keys fetched from the wallet. */
export const keyCounts = { hits: 0, misses: 0 }

type Library = Parameters<typeof didcommV1Pack>[0]

// What this file reads of the wallet: its store, its way to Askar's library, and its sessions.
interface WalletInternals {
  _store?: Store
  store: Store
  config: { askarLibrary: Library }
  withSession<T>(callback: (session: import('@hyperledger/aries-askar-shared').Session) => T): Promise<Awaited<T>>
}

const kept = new WeakMap<Store, Map<string, Key>>()

let applied: boolean | undefined

/** Replaces the Askar wallet's pack, unpack and close once per process; false on another version. */
export function cacheWalletKeys(): boolean {
  if (applied !== undefined) return applied
  applied = version === KEY_CACHED_VERSION
  if (!applied) {
    log(LogLevel.warn, `@credo-ts/askar ${version} is not ${KEY_CACHED_VERSION}: wallet keys are fetched for every message`)
    return false
  }
  const base = AskarBaseWallet.prototype as unknown as Record<string, unknown>
  base.pack = async function pack(
    this: WalletInternals,
    payload: Record<string, unknown>,
    recipientKeys: string[],
    senderVerkey?: string,
  ): Promise<EncryptedMessage> {
    const senderKey = senderVerkey ? await keyOf(this, senderVerkey) : undefined
    if (senderVerkey && !senderKey) throw new WalletError('Sender key not found')
    return didcommV1Pack(this.config.askarLibrary, payload, recipientKeys, senderKey)
  }
  base.unpack = async function unpack(this: WalletInternals, messagePackage: EncryptedMessage) {
    const protectedJson = JsonEncoder.fromBase64(messagePackage.protected) as { recipients: { header: { kid: string } }[] }
    for (const { header } of protectedJson.recipients) {
      const recipientKey = await keyOf(this, header.kid)
      if (recipientKey) return didcommV1Unpack(this.config.askarLibrary, messagePackage, recipientKey)
    }
    throw new WalletError('No corresponding recipient key found')
  }
  const wallet = AskarWallet.prototype as unknown as Record<string, unknown>
  const close = wallet.close as (this: WalletInternals) => Promise<void>
  wallet.close = async function closeFreeingKeys(this: WalletInternals): Promise<void> {
    if (this._store) forget(this._store)
    return close.call(this)
  }
  return true
}

/** The wallet's key named `name` (its public key in base58), fetched once; undefined when it has none. */
async function keyOf(wallet: WalletInternals, name: string): Promise<Key | undefined> {
  const store = wallet.store
  let keys = kept.get(store)
  const known = keys?.get(name)
  if (known) {
    keyCounts.hits += 1
    return known
  }
  keyCounts.misses += 1
  const fetched = await wallet.withSession(async (session) => (await session.fetchKey({ name }))?.key)
  if (!fetched) return undefined
  keys = kept.get(store)
  if (!keys) kept.set(store, (keys = new Map()))
  const raced = keys.get(name) // fetched meanwhile by another message of this holder: keep one
  if (raced) {
    fetched.handle.free()
    return raced
  }
  keys.set(name, fetched)
  return fetched
}

// Freed once the current callbacks ran: a pack or unpack that already took its key from here uses it
// synchronously when its turn comes, and that turn comes before setImmediate's.
function forget(store: Store): void {
  const keys = kept.get(store)
  kept.delete(store)
  if (keys) setImmediate(() => keys.forEach((key) => key.handle.free()))
}
