// Remembers the decoding of long multibase strings, the DID documents inside did:peer:4 DIDs.
//
// ACA-Py 1.x gives each connection a long-form did:peer:4 DID, whose document travels base58-encoded
// in the DID itself (about 1 KB). Credo resolves the mediator's DID again for every message a holder
// sends, and decodes it from base58 each time; base58 decoding takes time quadratic in the length,
// about 5 % of the CPU of a mediated holder start. Decoding is a pure function of the string, so
// the result is remembered (by the process, for at most CACHE_ENTRIES strings) and every caller gets
// a copy of its own: a holder still resolves its DIDs and checks their hashes itself. Short strings
// (keys, did:key) are decoded as before. Failed decodings are not remembered.
import { MultiBaseEncoder } from '@credo-ts/core'

/** Strings shorter than this are decoded every time: cheap, and not worth the memory. */
export const MIN_CACHED_LENGTH = 256
/** How many decodings are remembered; the oldest goes first. */
export const CACHE_ENTRIES = 4096

type Decoded = { data: Uint8Array; baseName: string }

/** For tests: how often a remembered decoding was used, and how many there are. */
export const counts = { hits: 0, entries: 0 }

let applied = false

/** Makes MultiBaseEncoder.decode remember long strings, once per process. */
export function cacheLongMultibaseDecoding(): boolean {
  if (applied) return true
  applied = true
  const encoder = MultiBaseEncoder as unknown as { decode: (data: string) => Decoded }
  const decode = encoder.decode.bind(encoder)
  const remembered = new Map<string, Decoded>()
  encoder.decode = (data: string) => {
    if (typeof data !== 'string' || data.length < MIN_CACHED_LENGTH) return decode(data)
    let entry = remembered.get(data)
    if (entry) {
      counts.hits += 1
    } else {
      const decoded = decode(data)
      entry = { data: new Uint8Array(decoded.data), baseName: decoded.baseName }
      if (remembered.size >= CACHE_ENTRIES) remembered.delete(remembered.keys().next().value as string)
      remembered.set(data, entry)
      counts.entries = remembered.size
    }
    return { data: new Uint8Array(entry.data), baseName: entry.baseName }
  }
  return true
}
