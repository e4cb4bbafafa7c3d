"""The agent's record stores (agent/src/memoryStorage.ts for a wallet in memory, the read cache of
agent/src/storageCache.ts for one on disk), its kept wallet keys (agent/src/keyCache.ts) and its
remembered class-validator rules (agent/src/validatorCache.ts).

The tests run Node scripts against the built agent's modules: real Credo 0.5.19 agents with Askar
wallets save, read, query, change and delete records, and every read must answer what Askar's own
storage service answers. Each shim is pinned to the
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

# What the wallet scripts share, put before each when it runs: Credo's packages from the built agent, the native-memory
# fixes every holder runs with, and makeAgent: a Credo agent with the given Askar module and an Askar
# wallet, in memory unless a storage is given.
WALLET_PRELUDE = r"""
const [dist, folder] = process.argv.slice(2)
const load = (name) => require(require.resolve(name, { paths: [dist] }))
const { Agent, InjectionSymbols, KeyDerivationMethod, KeyType, LogLevel, ConsoleLogger } = load('@credo-ts/core')
const { agentDependencies } = load('@credo-ts/node')
const { AskarModule } = load('@credo-ts/askar')
const { ariesAskar } = load('@hyperledger/aries-askar-nodejs')
require(`${dist}/askarLeaks.js`).freeAskarLeaks()
require(`${dist}/pointerTable.js`).balancePointerTable()

const makeAgent = async (label, askar, storage = { type: 'sqlite', config: { inMemory: true } }) => {
  const made = new Agent({
    config: {
      label, logger: new ConsoleLogger(LogLevel.off),
      walletConfig: { id: `${label}-${process.pid}`, key: ariesAskar.storeGenerateRawKey({}),
        keyDerivationMethod: KeyDerivationMethod.Raw, storage },
    },
    dependencies: agentDependencies,
    modules: { askar },
  })
  await made.initialize()
  return made
}
"""

# A Credo agent whose only module is the holder's Askar module, its wallet on disk (HOLDER_WALLETS=keep):
# generic records written and read back through the read cache.
RECORDS = r"""
const cache = require(`${dist}/storageCache.js`)
const { HolderAskarModule } = require(`${dist}/memoryStorage.js`)

async function main() {
  const onDisk = { type: 'sqlite', config: { path: `${folder}/wallet.db` } }
  const agent = await makeAgent('cache-test', new HolderAskarModule({ ariesAskar }), onDisk)
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

# The same records and queries through Askar's own storage service and through the holder's in-memory
# store, each agent with a wallet in memory: every answer and every error must be the same.
MEMORY = r"""
const memory = require(`${dist}/memoryStorage.js`)

const TAGS = [
  { kind: 'x', flag: true, list: ['a', 'b'], one: '1', gone: null },
  { kind: 'y', flag: false, list: ['b'] },
  { kind: 'x', zero: '0' },
  { kind: 'z:q', list: [] },
  { kind: 'x', flag: true },
]
const QUERIES = [
  {}, { kind: 'x' }, { flag: true }, { flag: false }, { list: ['b'] }, { list: ['a', 'b'] }, { list: ['a'] },
  { one: '1' }, { one: true }, { zero: '0' }, { kind: 'x', flag: true }, { kind: 'z:q' }, { missing: 'v' },
  { gone: null }, { $or: [{ kind: 'y' }, { one: '1' }] }, { $not: { kind: 'x' } }, { $not: { flag: true } },
  { $and: [{ kind: 'x' }, { $not: { flag: true } }] }, { kind: 'x', $or: [{ zero: '0' }, { list: ['a'] }] },
  { $or: [] }, { $and: [] },
]
const PAGES = [{ offset: 1 }, { limit: 2 }, { offset: 1, limit: 2 }, { offset: 9 }]

const outcome = async (promise) => {
  try { return await promise } catch (error) { return { error: error.constructor.name } }
}

async function exercise(made) {
  const storage = made.dependencyManager.resolve(InjectionSymbols.StorageService)
  const records = made.genericRecords
  const seen = { service: storage.constructor.name }
  const saved = []
  for (const [n, tags] of TAGS.entries()) saved.push(await records.save({ id: `r${n}`, content: { n }, tags }))
  const GenericRecord = saved[0].constructor
  const ns = (found) => (Array.isArray(found) ? found.map((r) => r.content.n) : found)
  const query = (q, options) => outcome(storage.findByQuery(made.context, GenericRecord, q, options).then(ns))
  seen.queries = []
  for (const q of QUERIES) seen.queries.push(await query(q))
  seen.pages = []
  for (const page of PAGES) seen.pages.push(await query({ kind: 'x' }, page))
  const first = await records.findById('r0')
  seen.read = { content: first.content, tags: first.getTags(), type: first.constructor.name }
  seen.duplicate = await outcome(records.save({ id: 'r0', content: {} }))
  first.setTags({ kind: 'w', flag: false })
  first.content = { n: 10 }
  await records.update(first)
  seen.afterUpdate = [await query({ kind: 'w' }), await query({ kind: 'x' }), ns(await records.getAll())]
  seen.updatedAtMoved = (await records.findById('r0')).updatedAt > saved[0].updatedAt
  await records.delete(saved[1])
  await records.deleteById('r2')
  seen.afterDelete = ns(await records.getAll())
  seen.missing = {
    byId: await outcome(storage.getById(made.context, GenericRecord, 'r2')),
    update: await outcome(records.update(saved[2])),
    delete: await outcome(records.delete(saved[2])),
    deleteById: await outcome(records.deleteById('r2')),
  }
  // What Askar itself holds of these records.
  seen.inAskar = (await made.context.wallet.withSession((s) => s.fetchAll({ category: GenericRecord.type }))).length
  await made.wallet.delete()
  return seen
}

async function main() {
  const askar = await exercise(await makeAgent('askar', new AskarModule({ ariesAskar })))
  const before = memory.counts.operations
  const held = await exercise(await makeAgent('memory', new memory.HolderAskarModule({ ariesAskar })))
  console.log(JSON.stringify({ askar, memory: held, operations: memory.counts.operations - before }))
}
main().then(() => process.exit(0), (error) => { console.error(error); process.exit(1) })
"""

# Envelopes packed and unpacked with kept keys are Credo's own: each way round with the wallet's original
# pack and unpack, between two real agents' in-memory Askar wallets.
KEYS = r"""
const { AskarBaseWallet } = load('@credo-ts/askar/build/wallet/AskarBaseWallet')
const original = { pack: AskarBaseWallet.prototype.pack, unpack: AskarBaseWallet.prototype.unpack }
const keys = require(`${dist}/keyCache.js`)

const failure = async (promise) => { try { await promise; return null } catch (error) { return error.message } }

async function main() {
  if (!keys.cacheWalletKeys()) throw new Error('not applied')
  const plainAgent = (label) => makeAgent(label, new AskarModule({ ariesAskar }))
  const [alice, bob] = [await plainAgent('alice'), await plainAgent('bob')]
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
        ["node", str(path), str(DIST), str(tmp_path)],
        env=AgentConfig().environment(),
        capture_output=True,
        text=True,
        timeout=300,
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
    assert installed("@credo-ts/askar") == constant("storageCache.ts", "CACHED_VERSION")  # and memoryStorage.ts
    assert installed("class-validator") == constant("validatorCache.ts", "REMEMBERED_VERSION")
    assert installed("@credo-ts/core") == constant("roundTrips.ts", "KEYLIST_STAMPED_VERSION")
    assert installed("@credo-ts/askar") == constant("keyCache.ts", "KEY_CACHED_VERSION")


def test_cached_reads_answer_what_the_wallet_holds(tmp_path):
    seen = node(WALLET_PRELUDE + RECORDS, tmp_path)
    assert seen["service"] == "HolderStorageService"
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


def unordered(found):
    return sorted(found) if isinstance(found, list) else found


def test_a_wallet_in_memory_keeps_records_as_askar_would(tmp_path):
    seen = node(WALLET_PRELUDE + MEMORY, tmp_path)
    askar, memory = seen["askar"], seen["memory"]
    assert askar["service"] == "AskarStorageService" and memory["service"] == "HolderStorageService"
    # Askar answers in an order of its own (not the order of saving), which Credo never relies on: the
    # answers are compared as sets; the memory store answers in the order of saving.
    assert sorted(askar["queries"][1]) == [0, 2, 4], askar  # the script itself is sound
    for field in ("queries", "afterUpdate"):
        assert [unordered(found) for found in memory[field]] == [unordered(found) for found in askar[field]], field
    for field in ("read", "duplicate", "updatedAtMoved", "missing"):
        assert memory[field] == askar[field], field
    assert sorted(memory["afterDelete"]) == sorted(askar["afterDelete"]) == [3, 4, 10]
    assert [len(page) for page in memory["pages"]] == [len(page) for page in askar["pages"]] == [2, 2, 2, 0]
    assert memory["pages"] == [[2, 4], [0, 2], [2, 4], []]
    assert askar["inAskar"] == 3 and memory["inAskar"] == 0  # the records were never in Askar
    assert seen["operations"] > 30


def test_kept_keys_pack_and_unpack_as_the_wallet_does(tmp_path):
    seen = node(WALLET_PRELUDE + KEYS, tmp_path)
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
