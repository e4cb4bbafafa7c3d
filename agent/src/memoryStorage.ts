// Keeps the records of a holder whose wallet lives in memory in JavaScript, not in Askar
// (@credo-ts/askar 0.5.19).
//
// A holder's start wrote about 16 records and ran 14 queries through Askar (docs/density.md): each
// write a session of asynchronous native calls answered through callbacks, each query a scan of as
// many, each value encrypted and each tag hashed on the way in and out. For a wallet in memory that
// work buys nothing: the store is gone with the process either way, and nothing else reads it.
//
// So such a holder's records live in JavaScript maps, in the very form Askar keeps them: the record
// serialized to JSON, its tags in Askar's encoding (booleans as '1'/'0', an array as one tag per
// item), written and read through Askar's storage service's own conversions, so a record reads back
// as it would from Askar, always as a fresh instance. Queries are evaluated as Askar evaluates its
// WQL; tests/unit/test_read_caches.py runs the same records and queries through both. Keys stay in
// Askar. A wallet on disk (HOLDER_WALLETS=keep) keeps its records in Askar, behind the read cache
// (storageCache.ts).
import { AskarModule } from '@credo-ts/askar'
import { askarQueryFromSearchQuery, recordToInstance, transformFromRecordTagValues } from '@credo-ts/askar/build/storage/utils'
import { version } from '@credo-ts/askar/package.json'
import { InjectionSymbols, JsonTransformer, LogLevel, RecordDuplicateError, RecordNotFoundError, WalletError } from '@credo-ts/core'
import type { AgentContext, BaseRecord, BaseRecordConstructor, DependencyManager, Query, QueryOptions } from '@credo-ts/core'

import { log } from './log'
import { CACHED_VERSION, CachingAskarStorageService } from './storageCache'

/** A record as Askar keeps it: its type, its id, its JSON, its tags in Askar's encoding. */
interface Row {
  category: string
  name: string
  value: string
  tags: Record<string, string>
}

/** Askar's WQL, as askarQueryFromSearchQuery builds it from Credo's query. */
type Wql = { [key: string]: unknown }

/** For tests: how many operations the maps answered. */
export const counts = { operations: 0 }

/** Whether the tags, in Askar's encoding, satisfy the query. */
export function matches(tags: Record<string, string>, query: Wql): boolean {
  for (const [key, wanted] of Object.entries(query)) {
    if (wanted === undefined) continue // Askar's JSON encoding drops it: no condition
    if (key === '$and') {
      if (!(wanted as Wql[]).every((part) => matches(tags, part))) return false
    } else if (key === '$or') {
      // As Askar: an empty $or is no condition (not a condition none can meet).
      const parts = wanted as Wql[]
      if (parts.length > 0 && !parts.some((part) => matches(tags, part))) return false
    } else if (key === '$not') {
      if (matches(tags, wanted as Wql)) return false
    } else if (typeof wanted === 'string') {
      if (tags[key] !== wanted) return false
    } else {
      // Credo 0.5.19 builds none of WQL's other operators ($neq, $in, $like …): fail loudly, never guess.
      throw new WalletError(`the in-memory record store cannot evaluate ${JSON.stringify({ [key]: wanted })}`)
    }
  }
  return true
}

function askarTags(record: BaseRecord): Record<string, string> {
  const tags: Record<string, string> = {}
  for (const [key, value] of Object.entries(transformFromRecordTagValues(record.getTags()))) {
    if (value !== undefined) tags[key] = value as string // a null tag is no tag in Askar
  }
  return tags
}

/** Writes the record as Askar's storage service would: stamped, serialized, its tags encoded. */
function keepRow(rows: Map<string, Row>, record: BaseRecord): void {
  record.updatedAt = new Date()
  rows.set(record.id, { category: record.type, name: record.id, value: JsonTransformer.serialize(record), tags: askarTags(record) })
}

// No decorator: tsyringe builds a class without constructor parameters with `new`.
export class HolderStorageService<T extends BaseRecord> extends CachingAskarStorageService<T> {
  // Per wallet store, then per record type, in the order of saving (Askar answers in that order too).
  private readonly memory = new WeakMap<object, Map<string, Map<string, Row>>>()

  /** The records of this type, if the holder's wallet is in memory; undefined if it is on disk. */
  private memoryRows(agentContext: AgentContext, type: string): Map<string, Row> | undefined {
    const storage = agentContext.config.walletConfig?.storage as { config?: { inMemory?: boolean } } | undefined
    if (storage?.config?.inMemory !== true) return undefined
    const store = (agentContext.wallet as unknown as { store: object }).store
    let types = this.memory.get(store)
    if (!types) this.memory.set(store, (types = new Map()))
    let rows = types.get(type)
    if (!rows) types.set(type, (rows = new Map()))
    counts.operations += 1
    return rows
  }

  override async save(agentContext: AgentContext, record: T): Promise<void> {
    const rows = this.memoryRows(agentContext, record.type)
    if (!rows) return super.save(agentContext, record)
    if (rows.has(record.id)) {
      throw new RecordDuplicateError(`Record with id ${record.id} already exists`, { recordType: record.type })
    }
    keepRow(rows, record)
  }

  override async update(agentContext: AgentContext, record: T): Promise<void> {
    const rows = this.memoryRows(agentContext, record.type)
    if (!rows) return super.update(agentContext, record)
    if (!rows.has(record.id)) {
      throw new RecordNotFoundError(`record with id ${record.id} not found.`, { recordType: record.type })
    }
    keepRow(rows, record)
  }

  override async delete(agentContext: AgentContext, record: T): Promise<void> {
    const rows = this.memoryRows(agentContext, record.type)
    if (!rows) return super.delete(agentContext, record)
    if (!rows.delete(record.id)) {
      throw new RecordNotFoundError(`record with id ${record.id} not found.`, { recordType: record.type })
    }
  }

  override async deleteById(agentContext: AgentContext, recordClass: BaseRecordConstructor<T>, id: string): Promise<void> {
    const rows = this.memoryRows(agentContext, recordClass.type)
    if (!rows) return super.deleteById(agentContext, recordClass, id)
    if (!rows.delete(id)) throw new RecordNotFoundError(`record with id ${id} not found.`, { recordType: recordClass.type })
  }

  override async getById(agentContext: AgentContext, recordClass: BaseRecordConstructor<T>, id: string): Promise<T> {
    const rows = this.memoryRows(agentContext, recordClass.type)
    if (!rows) return super.getById(agentContext, recordClass, id)
    const row = rows.get(id)
    if (!row) throw new RecordNotFoundError(`record with id ${id} not found.`, { recordType: recordClass.type })
    return recordToInstance(row, recordClass) as T
  }

  override async getAll(agentContext: AgentContext, recordClass: BaseRecordConstructor<T>): Promise<T[]> {
    const rows = this.memoryRows(agentContext, recordClass.type)
    if (!rows) return super.getAll(agentContext, recordClass)
    return [...rows.values()].map((row) => recordToInstance(row, recordClass) as T)
  }

  override async findByQuery(
    agentContext: AgentContext,
    recordClass: BaseRecordConstructor<T>,
    query: Query<T>,
    queryOptions?: QueryOptions,
  ): Promise<T[]> {
    const rows = this.memoryRows(agentContext, recordClass.type)
    if (!rows) return super.findByQuery(agentContext, recordClass, query, queryOptions)
    const wql = askarQueryFromSearchQuery(query) as Wql
    const found = [...rows.values()].filter((row) => matches(row.tags, wql))
    const offset = queryOptions?.offset ?? 0
    const chosen = found.slice(offset, queryOptions?.limit === undefined ? undefined : offset + queryOptions.limit)
    return chosen.map((row) => recordToInstance(row, recordClass) as T)
  }
}

/**
 * Askar's module, with a holder's records kept in memory when its wallet is (in Askar, behind the
 * read cache, when it is on disk), if the installed @credo-ts/askar is the version these files
 * know; with another, Askar's module as it is.
 */
export class HolderAskarModule extends AskarModule {
  override register(dependencyManager: DependencyManager): void {
    super.register(dependencyManager)
    if (version !== CACHED_VERSION) {
      log(LogLevel.warn, `@credo-ts/askar ${version} is not ${CACHED_VERSION}: records are kept and read by Askar alone`)
      return
    }
    // The last registration of a token is the one resolved: this one, for every repository.
    dependencyManager.registerSingleton(InjectionSymbols.StorageService, HolderStorageService)
  }
}
