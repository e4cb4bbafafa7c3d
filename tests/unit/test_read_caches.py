"""The agent's per-holder record cache (agent/src/storageCache.ts), its kept wallet keys
(agent/src/keyCache.ts) and its remembered class-validator rules (agent/src/validatorCache.ts).

The tests run Node scripts against the built agent's modules: a real Credo 0.5.19 agent with an
in-memory Askar wallet saves, reads, queries, changes and deletes records, and every read must
answer what the wallet holds, whether it came from memory or from Askar. Each shim is pinned to the
version of the package it patches; the version tests fail when that package changes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from akrida import paths
from akrida.agent import AgentConfig

DIST = paths.AGENT_DIR / "dist"
MODULES = paths.AGENT_DIR / "node_modules"

# A Credo agent whose only module is the caching Askar module: generic records written and read back.
RECORDS = r"""
const [dist] = process.argv.slice(2)
const load = (name) => require(require.resolve(name, { paths: [dist] }))
const { Agent, InjectionSymbols, KeyDerivationMethod, LogLevel, ConsoleLogger } = load('@credo-ts/core')
const { agentDependencies } = load('@credo-ts/node')
const { ariesAskar } = load('@hyperledger/aries-askar-nodejs')
require(`${dist}/askarLeaks.js`).freeAskarLeaks()
require(`${dist}/pointerTable.js`).balancePointerTable()
const cache = require(`${dist}/storageCache.js`)

async function main() {
  const agent = new Agent({
    config: {
      label: 'cache-test',
      walletConfig: {
        id: `cache-${process.pid}`, key: ariesAskar.storeGenerateRawKey({}),
        keyDerivationMethod: KeyDerivationMethod.Raw,
        storage: { type: 'sqlite', config: { inMemory: true } },
      },
      logger: new ConsoleLogger(LogLevel.off),
    },
    dependencies: agentDependencies,
    modules: { askar: new cache.CachingAskarModule({ ariesAskar }) },
  })
  await agent.initialize()
  const seen = {}
  const storage = agent.dependencyManager.resolve(InjectionSymbols.StorageService)
  seen.service = storage.constructor.name
  const records = agent.genericRecords
  const a = await records.save({ content: { n: 1 }, tags: { kind: 'x', flag: true } })
  await records.save({ content: { n: 2 }, tags: { kind: 'y' } })
  const contents = async (query) => (await records.findAllByQuery(query)).map((r) => r.content.n).sort()

  seen.first = await contents({ kind: 'x' })
  const before = { ...cache.counts }
  seen.again = await contents({ kind: 'x' })
  seen.byId = (await records.findById(a.id)).content.n
  seen.flag = await contents({ flag: true })
  seen.hitsOnRepeat = cache.counts.hits - before.hits

  // A caller that changes its instance without saving it changes nothing for the next reader.
  const mine = await records.findById(a.id)
  mine.content.n = 99
  seen.unsavedChange = (await records.findById(a.id)).content.n

  // A change that is saved is read back at once, by id and by query, old tags and new.
  mine.content.n = 3
  mine.setTags({ kind: 'z' })
  await records.update(mine)
  seen.updatedById = (await records.findById(a.id)).content.n
  seen.oldTag = await contents({ kind: 'x' })
  seen.newTag = await contents({ kind: 'z' })
  await records.save({ content: { n: 4 }, tags: { kind: 'z' } })
  seen.afterSave = await contents({ kind: 'z' })
  seen.all = (await records.getAll()).map((r) => r.content.n).sort()

  await records.deleteById(a.id)
  seen.deletedById = await records.findById(a.id)
  seen.deletedQuery = await contents({ kind: 'z' })

  // Reads running while a write of their type happens: none may keep what it read before the write.
  const b = (await records.findAllByQuery({ kind: 'y' }))[0]
  b.content.n = 5
  const reads = [records.findAllByQuery({ kind: 'y' }), records.findById(b.id)]
  await Promise.all([records.update(b), ...reads])
  seen.afterRace = { query: await contents({ kind: 'y' }), byId: (await records.findById(b.id)).content.n }

  seen.counts = cache.counts
  await agent.wallet.delete()
  console.log(JSON.stringify(seen))
}
main().then(() => process.exit(0), (error) => { console.error(error); process.exit(1) })
"""

# Envelopes packed and unpacked with kept keys are Credo's own: each way round with the wallet's original
# pack and unpack, between two real agents' in-memory Askar wallets.
KEYS = r"""
const [dist] = process.argv.slice(2)
const load = (name) => require(require.resolve(name, { paths: [dist] }))
const { Agent, KeyDerivationMethod, KeyType, LogLevel, ConsoleLogger } = load('@credo-ts/core')
const { agentDependencies } = load('@credo-ts/node')
const { AskarModule } = load('@credo-ts/askar')
const { AskarBaseWallet } = load('@credo-ts/askar/build/wallet/AskarBaseWallet')
const { ariesAskar } = load('@hyperledger/aries-askar-nodejs')
require(`${dist}/askarLeaks.js`).freeAskarLeaks()
require(`${dist}/pointerTable.js`).balancePointerTable()
const original = { pack: AskarBaseWallet.prototype.pack, unpack: AskarBaseWallet.prototype.unpack }
const keys = require(`${dist}/keyCache.js`)

const agent = async (label) => {
  const made = new Agent({
    config: {
      label, logger: new ConsoleLogger(LogLevel.off),
      walletConfig: { id: `${label}-${process.pid}`, key: ariesAskar.storeGenerateRawKey({}),
        keyDerivationMethod: KeyDerivationMethod.Raw, storage: { type: 'sqlite', config: { inMemory: true } } },
    },
    dependencies: agentDependencies,
    modules: { askar: new AskarModule({ ariesAskar }) },
  })
  await made.initialize()
  return made
}
const failure = async (promise) => { try { await promise; return null } catch (error) { return error.message } }

async function main() {
  if (!keys.cacheWalletKeys()) throw new Error('not applied')
  const [alice, bob] = [await agent('alice'), await agent('bob')]
  const a = (await alice.context.wallet.createKey({ keyType: KeyType.Ed25519 })).publicKeyBase58
  const b = (await bob.context.wallet.createKey({ keyType: KeyType.Ed25519 })).publicKeyBase58
  const [mine, theirs] = [alice.context.wallet, bob.context.wallet]
  const message = { '@type': 'https://didcomm.org/basicmessage/1.0/message', '@id': 'm-1', content: 'hello' }
  const read = (u) => ({ content: u.plaintextMessage.content, sender: u.senderKey ?? null, recipient: u.recipientKey })
  const seen = { a, b }
  seen.keptToOriginal = read(await original.unpack.call(theirs, await mine.pack(message, [b], a)))
  seen.originalToKept = read(await theirs.unpack(await original.pack.call(mine, message, [b], a)))
  seen.anoncrypt = read(await theirs.unpack(await mine.pack(message, [b])))
  const before = { ...keys.keyCounts }
  seen.again = read(await theirs.unpack(await mine.pack(message, [b], a)))
  seen.hitsOnRepeat = keys.keyCounts.hits - before.hits
  seen.missesOnRepeat = keys.keyCounts.misses - before.misses
  seen.unknownSender = await failure(mine.pack(message, [b], b))
  seen.notForMe = await failure(mine.unpack(await mine.pack(message, [b], a)))
  await alice.wallet.delete()
  await bob.wallet.delete()
  await new Promise((done) => setImmediate(done)) // the kept keys are freed then
  console.log(JSON.stringify(seen))
}
main().then(() => process.exit(0), (error) => { console.error(error); process.exit(1) })
"""

# class-validator answers the same with its rules remembered: a valid message passes, a broken one
# fails on the same properties, and a class declared afterwards is validated by its own rules.
VALIDATION = r"""
const [dist] = process.argv.slice(2)
const load = (name) => require(require.resolve(name, { paths: [dist] }))
const { TrustPingMessage, MessageValidator, JsonTransformer } = load('@credo-ts/core')
const remembered = require(`${dist}/validatorCache.js`)
const errorsOf = (object) => {
  try { MessageValidator.validateSync(object); return [] } catch (error) {
    return (error.validationErrors ?? []).map((e) => e.property).sort()
  }
}
const PING = { '@type': 'https://didcomm.org/trust_ping/1.0/ping', '@id': 'ping-0001-abcd', response_requested: true }
const ping = () => JsonTransformer.fromJSON(PING, TrustPingMessage)
const broken = () => { const message = ping(); message.id = 7; message.responseRequested = 'yes'; return message }
const plain = { valid: errorsOf(ping()), broken: errorsOf(broken()) }
if (!remembered.rememberValidationRules()) throw new Error('not applied')
const kept = { valid: errorsOf(ping()), broken: errorsOf(broken()) }
errorsOf(ping())
// A rule declared after its class was validated (a module loaded later) is seen from then on.
const { IsString } = load('class-validator')
class Later extends TrustPingMessage {}
const later = Object.assign(new Later(), ping(), { extra: 3 })
const laterBefore = errorsOf(later)
IsString()(Later.prototype, 'extra')
console.log(JSON.stringify({ plain, kept, laterBefore, later: errorsOf(later), counts: remembered.counts }))
"""


def node(script: str, tmp_path: Path) -> dict:
    path = tmp_path / "script.js"
    path.write_text(script)
    done = subprocess.run(
        ["node", str(path), str(DIST)], env=AgentConfig().environment(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def constant(module: str, name: str) -> str:
    source = (paths.AGENT_DIR / "src" / module).read_text()
    return source.split(f"export const {name} = '", 1)[1].split("'", 1)[0]


def installed(package: str) -> str:
    return json.loads((MODULES / package / "package.json").read_text())["version"]


def test_the_shims_are_pinned_to_the_installed_versions():
    # A new version of a package may read, validate or send differently: look at it, then move the pin.
    assert installed("@credo-ts/askar") == constant("storageCache.ts", "CACHED_VERSION")
    assert installed("class-validator") == constant("validatorCache.ts", "REMEMBERED_VERSION")
    assert installed("@credo-ts/core") == constant("roundTrips.ts", "KEYLIST_STAMPED_VERSION")
    assert installed("@credo-ts/askar") == constant("keyCache.ts", "KEY_CACHED_VERSION")


def test_cached_reads_answer_what_the_wallet_holds(tmp_path):
    seen = node(RECORDS, tmp_path)
    assert seen["service"] == "CachingAskarStorageService"
    assert seen["first"] == [1] and seen["again"] == [1] and seen["byId"] == 1 and seen["flag"] == [1]
    assert seen["hitsOnRepeat"] == 2, seen  # the repeated query and the id it returned; the other query missed
    assert seen["unsavedChange"] == 1
    assert seen["updatedById"] == 3
    assert seen["oldTag"] == [] and seen["newTag"] == [3]
    assert seen["afterSave"] == [3, 4]
    assert seen["all"] == [2, 3, 4]
    assert seen["deletedById"] is None and seen["deletedQuery"] == [4]
    assert seen["afterRace"] == {"query": [5], "byId": 5}
    assert seen["counts"]["hits"] > 0 and seen["counts"]["misses"] > 0


def test_kept_keys_pack_and_unpack_as_the_wallet_does(tmp_path):
    seen = node(KEYS, tmp_path)
    authcrypt = {"content": "hello", "sender": seen["a"], "recipient": seen["b"]}
    assert seen["keptToOriginal"] == authcrypt and seen["originalToKept"] == authcrypt and seen["again"] == authcrypt
    assert seen["anoncrypt"] == {"content": "hello", "sender": None, "recipient": seen["b"]}
    assert seen["hitsOnRepeat"] == 2 and seen["missesOnRepeat"] == 0, seen  # both keys kept from before
    assert seen["unknownSender"] == "Sender key not found"
    assert seen["notForMe"] == "No corresponding recipient key found"


def test_remembered_validation_rules_validate_as_before(tmp_path):
    seen = node(VALIDATION, tmp_path)
    assert seen["plain"] == {"valid": [], "broken": ["id", "responseRequested"]}
    assert seen["kept"] == seen["plain"]
    assert seen["laterBefore"] == [] and seen["later"] == ["extra"]
    assert seen["counts"]["remembered"] > 0
