// Frees what Askar's Node.js wrapper (@hyperledger/aries-askar-nodejs 0.2.3) hands over and never frees.
//
// A holder reads records and unpacks messages through Askar. For each of them the wrapper leaves
// native memory behind that nothing ever frees, in the process's C heap (Node's own heap stays
// flat, so no garbage collection helps):
//
// - byte buffers: every record value read from the wallet, every decrypted message, every
//   crypto-box or signature result comes back as a buffer Askar allocated; the wrapper copies it
//   and drops it without `askar_buffer_free`;
// - strings: every record's category, name and tags (a JSON text), every key's name and algorithm,
//   every JWK come back as C strings Askar allocated; the wrapper copies them and never calls
//   `askar_string_free` (its bindings do not even declare it);
// - query results: askar-shared's `Scan` frees the scan but never the entry lists it returned, so
//   each of Credo's `findByQuery` keeps every record it read;
// - callbacks: every asynchronous call (a session, a fetch, a query, an insert) made a native
//   callback of its own, a libffi closure with its own call interface, which ffi-napi and ref-napi
//   track in tables they never empty (see pointerTable.ts). One native callback per signature now
//   serves every call; each call's own handler is found by the callback id Askar hands back.
//
// Receiving one basic message reads the connection, DIDs with their documents and mediation in
// several queries, so a holder's process grew with every message it received; bench/soak.py
// measures it (docs/density.md, "Memory over time").
//
// Each leak is closed where the wrapper gives a hook, without copying its code: the one function
// that turns an Askar buffer into bytes and the one that allocates a string out-parameter are
// looked up on the wrapper's ffi module at each call, as are the functions that make a call's
// native callback and release it, and Scan calls the wrapper's scanNext and scanFree. Askar's newer wrapper frees the byte buffers itself; 0.2.3, the one Credo 0.5 uses,
// does not. With another version installed nothing here is applied, so nothing is freed twice.
import { LogLevel } from '@credo-ts/core'
import { Callback, Library } from '@2060.io/ffi-napi'
import * as ref from '@2060.io/ref-napi'
import { ariesAskarNodeJS } from '@hyperledger/aries-askar-nodejs'
import * as alloc from '@hyperledger/aries-askar-nodejs/build/ffi/alloc'
import * as callback from '@hyperledger/aries-askar-nodejs/build/ffi/callback'
import * as conversion from '@hyperledger/aries-askar-nodejs/build/ffi/conversion'
import { FFI_CALLBACK_ID, FFI_ERROR_CODE, FFI_STRING, FFI_VOID } from '@hyperledger/aries-askar-nodejs/build/ffi/primitives'
import { version } from '@hyperledger/aries-askar-nodejs/package.json'
import { existsSync } from 'fs'
import { createRequire } from 'module'
import { dirname, join } from 'path'

import { log } from './log'

/** The wrapper version whose leaks this file knows. */
export const LEAKY_VERSION = '0.2.3'

type Handle = object
type SecretBuffer = Parameters<typeof conversion.secretBufferToBuffer>[0]

interface Wrapper {
  nativeAriesAskar: { askar_buffer_free: (buffer: SecretBuffer) => void }
  scanNext: (options: { scanHandle: Handle }) => Promise<Handle | null>
  scanFree: (options: { scanHandle: Handle }) => void
  entryListFree: (options: { entryListHandle: Handle }) => void
}

/** For tests: the buffers, strings and entry lists freed so far, and the native callbacks made. */
export const counts = { buffers: 0, strings: 0, entryLists: 0, nativeCallbacks: 0 }

let applied: boolean | undefined

/** Closes the wrapper's leaks once per process; false when the installed wrapper is not 0.2.3. */
export function freeAskarLeaks(): boolean {
  if (applied !== undefined) return applied
  applied = version === LEAKY_VERSION
  if (!applied) {
    log(LogLevel.warn, `@hyperledger/aries-askar-nodejs ${version} is not ${LEAKY_VERSION}: its memory handling is left as it is`)
    return false
  }
  const wrapper = ariesAskarNodeJS as unknown as Wrapper
  freeBuffers(wrapper)
  freeStrings()
  freeScanLists(wrapper)
  shareCallbacks()
  return true
}

function freeBuffers(wrapper: Wrapper): void {
  const module = conversion as unknown as { secretBufferToBuffer: (buffer: SecretBuffer) => Buffer }
  const view = module.secretBufferToBuffer // a Buffer over Askar's memory, not a copy
  module.secretBufferToBuffer = (buffer) => {
    const copy = Buffer.from(view(buffer))
    wrapper.nativeAriesAskar.askar_buffer_free(buffer)
    counts.buffers += 1
    return copy
  }
}

function freeStrings(): void {
  const module = alloc as unknown as { allocateStringBuffer: () => Buffer }
  const allocate = module.allocateStringBuffer
  // Every caller reads the out-parameter once, with deref(): read the string, then free it.
  module.allocateStringBuffer = () => {
    const out = allocate() as Buffer & { deref: () => string | null }
    out.deref = () => {
      const pointer = ref.readPointer(out, 0)
      if (ref.isNull(pointer)) return null
      try {
        return ref.readCString(pointer, 0)
      } finally {
        stringFree()(pointer)
        counts.strings += 1
      }
    }
    return out
  }
}

let askarStringFree: ((pointer: Buffer) => void) | undefined

/** `askar_string_free` of the Askar library the wrapper loaded (it found it the same way). */
function stringFree(): (pointer: Buffer) => void {
  if (!askarStringFree) {
    const library = Library(askarLibraryPath(), { askar_string_free: ['void', ['pointer']] })
    askarStringFree = library.askar_string_free as unknown as (pointer: Buffer) => void
  }
  return askarStringFree
}

function askarLibraryPath(): string {
  const file = { darwin: 'libaries_askar.dylib', win32: 'aries_askar.dll' }[process.platform as string] ?? 'libaries_askar.so'
  const folders = [
    process.env.LIB_ARIES_ASKAR_PATH,
    join(dirname(createRequire(__filename).resolve('@hyperledger/aries-askar-nodejs/package.json')), 'native'),
    ...({ darwin: ['/usr/local/lib/', '/usr/lib/', '/opt/homebrew/opt/'], win32: ['c:\\windows\\system32\\'] }[
      process.platform as string
    ] ?? ['/usr/lib/', '/usr/local/lib/']),
  ]
  const found = folders
    .filter((folder): folder is string => !!folder)
    .map((folder) => join(folder, file))
    .find(existsSync)
  if (!found) throw new Error(`the Askar library ${file} was not found in ${folders.filter(Boolean).join(', ')}`)
  return found
}

function freeScanLists(wrapper: Wrapper): void {
  const lists = new Map<Handle, Handle[]>() // per scan: the entry lists it returned
  const next = wrapper.scanNext.bind(wrapper)
  const free = wrapper.scanFree.bind(wrapper)
  wrapper.scanNext = async (options) => {
    const list = await next(options)
    if (list) lists.set(options.scanHandle, [...(lists.get(options.scanHandle) ?? []), list])
    return list
  }
  // Scan frees the scan once its callbacks have copied every row out of the lists.
  wrapper.scanFree = (options) => {
    const kept = lists.get(options.scanHandle) ?? []
    lists.delete(options.scanHandle)
    try {
      free(options)
    } finally {
      for (const list of kept) wrapper.entryListFree({ entryListHandle: list })
      counts.entryLists += kept.length
    }
  }
}

type Handler = (...args: unknown[]) => void
interface Callbacks {
  toNativeCallback: (handler: Handler) => { nativeCallback: Buffer; id: number }
  toNativeCallbackWithResponse: (handler: Handler, responseType?: unknown) => { nativeCallback: Buffer; id: number }
}

function shareCallbacks(): void {
  const module = callback as unknown as Callbacks
  const allocation = alloc as unknown as { deallocateCallbackBuffer: (id: number) => void }
  const pending = new Map<number, Handler>() // call id -> the wrapper's handler of that call
  const natives = new Map<unknown, Buffer>() // response type ('' for none) -> the one native callback
  let lastId = 0
  const nativeFor = (responseType: unknown): Buffer => {
    let native = natives.get(responseType)
    if (!native) {
      // Askar's callbacks: (callback id, error code) and, for calls that return something, the result.
      const argumentTypes = [FFI_CALLBACK_ID, FFI_ERROR_CODE, ...(responseType === '' ? [] : [responseType])]
      native = Callback(FFI_VOID, argumentTypes as never, (id: unknown, ...rest: unknown[]) =>
        pending.get(Number(id))?.(id, ...rest),
      ) as unknown as Buffer
      natives.set(responseType, native) // kept for the life of the process
      counts.nativeCallbacks = natives.size
    }
    return native
  }
  // A call in flight keeps the process alive, as the wrapper's own per-call timer did.
  let keepAlive: NodeJS.Timeout | undefined
  const register = (handler: Handler, responseType: unknown) => {
    lastId += 1
    pending.set(lastId, handler)
    keepAlive ??= setInterval(() => undefined, 2 ** 30)
    return { nativeCallback: nativeFor(responseType), id: lastId }
  }
  module.toNativeCallback = (handler) => register(handler, '')
  module.toNativeCallbackWithResponse = (handler, responseType = FFI_STRING) => register(handler, responseType)
  // The wrapper releases a call's callback, by its id, when the call answered or failed to start.
  const release = allocation.deallocateCallbackBuffer
  allocation.deallocateCallbackBuffer = (id) => {
    if (!pending.delete(Number(id))) release(id) // not one of ours: the wrapper's own timer
    if (pending.size === 0 && keepAlive) {
      clearInterval(keepAlive)
      keepAlive = undefined
    }
  }
}
