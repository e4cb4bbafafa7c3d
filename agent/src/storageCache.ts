// Answers a holder's repeated record reads from memory instead of from Askar (@credo-ts/askar 0.5.19),
// for a wallet on disk (HOLDER_WALLETS=keep); a wallet in memory keeps its records in JavaScript
// alone (memoryStorage.ts, which registers both).
//
// Every message a holder sends or receives makes Credo read the same few records again: its
// mediation record and mediator connection, the DIDs and DID documents of that connection, found
// by query on their keys. A mediator ping read about 13 records in 4 Askar sessions and wrote
// none, each read costing a session, a fetch or a scan, and the entry-list calls and frees behind
// it: some 130 native calls per ping, most of the agent's CPU for it (docs/density.md).
//
// A holder's wallet has one writer, its own Credo agent, and every write of a record goes through
// this storage service. So a read can be answered from the rows an earlier read returned, as long
// as any write of that record type forgets what was kept of the type. What is kept is Askar's own
// row (name, value text, tags), never a record instance: each read still builds a fresh instance
// from it, as Askar's storage service does, so a caller that changes its record changes no one else's.
//
// A read that was in flight while a write of its type began is not kept: it may have read the row
// from before the write. What is kept is bounded per type (ids and queries), so a holder with many
// records or many distinct queries holds at most that much.
import { AskarStorageService } from '@credo-ts/askar'
import { askarQueryFromSearchQuery, recordToInstance } from '@credo-ts/askar/build/storage/utils'
import { RecordNotFoundError, WalletError } from '@credo-ts/core'
import type { AgentContext, BaseRecord, BaseRecordConstructor, Query, QueryOptions } from '@credo-ts/core'
import { Scan } from '@hyperledger/aries-askar-shared'
import type { Session, Store } from '@hyperledger/aries-askar-shared'

/** The Askar storage service whose reads and writes this file and memoryStorage.ts know. */
export const CACHED_VERSION = '0.5.19'

/** Kept per record type: rows by id, and query answers. */
const MAX_ROWS = 256
const MAX_QUERIES = 64

/** One row as Askar returns it. */
interface Row {
  category: string
  name: string
  value: string
  tags: Record<string, unknown>
}

interface AskarWalletLike {
  store: Store
  profile?: string
  withSession<T>(callback: (session: Session) => T): Promise<Awaited<T>>
}

class TypeCache {
  /** Raised at the start and the end of every write: a read that saw it change keeps nothing. */
  generation = 0
  readonly rows = new Map<string, Row>()
  readonly queries = new Map<string, Row[]>()

  forget(): void {
    this.generation += 1
    this.rows.clear()
    this.queries.clear()
  }
}

/** For tests: the reads answered from memory and the reads that went to Askar. */
export const counts = { hits: 0, misses: 0 }

/** Bounded insertion: the oldest entry goes first. */
function keep<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  if (map.size > max) map.delete(map.keys().next().value as string)
}

// No decorator: tsyringe builds a class without constructor parameters with `new`.
export class CachingAskarStorageService<T extends BaseRecord> extends AskarStorageService<T> {
  // Per store: a wallet that is closed and opened again has a store of its own, and nothing kept.
  private readonly stores = new WeakMap<Store, Map<string, TypeCache>>()

  private cacheOf(agentContext: AgentContext, type: string): TypeCache {
    const store = (agentContext.wallet as unknown as AskarWalletLike).store
    let types = this.stores.get(store)
    if (!types) this.stores.set(store, (types = new Map()))
    let cache = types.get(type)
    if (!cache) types.set(type, (cache = new TypeCache()))
    return cache
  }

  private async write(agentContext: AgentContext, type: string, writing: () => Promise<void>): Promise<void> {
    const cache = this.cacheOf(agentContext, type)
    cache.forget()
    try {
      await writing()
    } finally {
      cache.forget()
    }
  }

  override save(agentContext: AgentContext, record: T): Promise<void> {
    return this.write(agentContext, record.type, () => super.save(agentContext, record))
  }

  override update(agentContext: AgentContext, record: T): Promise<void> {
    return this.write(agentContext, record.type, () => super.update(agentContext, record))
  }

  override delete(agentContext: AgentContext, record: T): Promise<void> {
    return this.write(agentContext, record.type, () => super.delete(agentContext, record))
  }

  override deleteById(agentContext: AgentContext, recordClass: BaseRecordConstructor<T>, id: string): Promise<void> {
    return this.write(agentContext, recordClass.type, () => super.deleteById(agentContext, recordClass, id))
  }

  override async getById(agentContext: AgentContext, recordClass: BaseRecordConstructor<T>, id: string): Promise<T> {
    const cache = this.cacheOf(agentContext, recordClass.type)
    let row = cache.rows.get(id)
    if (row) counts.hits += 1
    else {
      counts.misses += 1
      const generation = cache.generation
      const wallet = agentContext.wallet as unknown as AskarWalletLike
      let found: Row | null
      try {
        found = (await wallet.withSession((session) => session.fetch({ category: recordClass.type, name: id }))) as Row | null
      } catch (error) {
        throw new WalletError(`Error getting record ${recordClass.name}`, { cause: error as Error })
      }
      if (!found) throw new RecordNotFoundError(`record with id ${id} not found.`, { recordType: recordClass.type })
      row = { category: found.category, name: found.name, value: found.value, tags: found.tags }
      if (cache.generation === generation) keep(cache.rows, id, row, MAX_ROWS)
    }
    return recordToInstance(row, recordClass) as T
  }

  override async getAll(agentContext: AgentContext, recordClass: BaseRecordConstructor<T>): Promise<T[]> {
    const rows = await this.rowsOf(
      agentContext,
      recordClass.type,
      '*',
      async (wallet) => (await wallet.withSession((session) => session.fetchAll({ category: recordClass.type }))) as Row[],
    )
    return rows.map((row) => recordToInstance(row, recordClass) as T)
  }

  override async findByQuery(
    agentContext: AgentContext,
    recordClass: BaseRecordConstructor<T>,
    query: Query<T>,
    queryOptions?: QueryOptions,
  ): Promise<T[]> {
    const key = JSON.stringify([query, queryOptions?.offset, queryOptions?.limit])
    let rows: Row[]
    try {
      rows = await this.rowsOf(
        agentContext,
        recordClass.type,
        key,
        (wallet) =>
          new Scan({
            category: recordClass.type,
            store: wallet.store,
            tagFilter: askarQueryFromSearchQuery(query),
            profile: wallet.profile,
            offset: queryOptions?.offset,
            limit: queryOptions?.limit,
          }).fetchAll() as Promise<Row[]>,
      )
    } catch (error) {
      throw new WalletError(`Error executing query. ${(error as Error).message}`, { cause: error as Error })
    }
    return rows.map((row) => recordToInstance(row, recordClass) as T)
  }

  private async rowsOf(
    agentContext: AgentContext,
    type: string,
    key: string,
    read: (wallet: AskarWalletLike) => Promise<Row[]>,
  ): Promise<Row[]> {
    const cache = this.cacheOf(agentContext, type)
    const kept = cache.queries.get(key)
    if (kept) {
      counts.hits += 1
      return kept
    }
    counts.misses += 1
    const generation = cache.generation
    const rows = (await read(agentContext.wallet as unknown as AskarWalletLike)).map(({ category, name, value, tags }) => ({
      category,
      name,
      value,
      tags,
    }))
    if (cache.generation === generation) {
      keep(cache.queries, key, rows, MAX_QUERIES)
      for (const row of rows) keep(cache.rows, row.name, row, MAX_ROWS)
    }
    return rows
  }
}
