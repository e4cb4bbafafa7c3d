// Keeps ref-napi's table of native buffers from growing with every native call.
//
// Every native library a holder uses (Askar, and AnonCreds and Indy VDR when a ledger is set) is
// called through ffi-napi, which passes its arguments as ref-napi buffers. ref-napi 3.0.6 keeps a
// table from each buffer's native address to the buffer, with a count that its finalizer lowers
// when the buffer is collected. But a buffer that reaches native code again while it is alive
// raises the count without adding a finalizer, so its entry (a node, a Node-API reference and a V8
// handle) is never removed. ffi-napi hands every call's fresh argument buffers to native code twice
// (written into the argument list, then the call itself), and reads results back the same way: the
// table grew with every native call, so with every message a holder received, in the process's C
// heap, where no garbage collection sees it. bench/soak.py measures it (docs/density.md).
//
// The table lives in native code that this project does not build. It is touched only when a
// buffer goes through ref-napi's native functions, and several of those do what JavaScript can do
// on the buffer's own bytes: write or read a pointer, a 64-bit integer, or tell an address already
// known. Those are replaced here, so that native code sees each fresh buffer once, as the table
// expects. Anything outside their plain case (a buffer too short for the read, a string for a 64-bit
// value, an address beyond 2^53) still goes to the native function, unchanged.
import { LogLevel } from '@credo-ts/core'
import { createRequire } from 'module'

import { log } from './log'

/** The ref-napi version whose table this file knows. */
export const UNBALANCED_VERSION = '3.0.6'

type Native = (...args: unknown[]) => unknown

interface Ref {
  sizeof: { pointer: number }
  endianness: 'LE' | 'BE'
  _attach: (buffer: Buffer, object: unknown) => void
  [name: string]: unknown
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const JS_MAX_INT = 2n ** 53n // ref-napi's bound between a Number and a String for 64-bit values

let applied: boolean | undefined

/** Replaces ref-napi's pointer functions once per process; false when it is not ref-napi 3.0.6. */
export function balancePointerTable(): boolean {
  if (applied !== undefined) return applied
  const load = createRequire(__filename)
  const { version } = load('@2060.io/ref-napi/package.json') as { version: string }
  const ref = load('@2060.io/ref-napi') as Ref
  applied = version === UNBALANCED_VERSION && ref.sizeof.pointer === 8
  if (!applied) {
    log(LogLevel.warn, `@2060.io/ref-napi ${version} is not ${UNBALANCED_VERSION} on 64 bits: its pointer functions are left as they are`)
    return false
  }
  install(ref)
  return true
}

function install(ref: Ref): void {
  const little = ref.endianness === 'LE'
  const native = (name: string) => ref[name] as Native
  const nativeAddress = native('address')
  const nativeIsNull = native('isNull')
  const nativeReadPointer = native('readPointer')
  const nativeWritePointer = native('writePointer')
  const nativeReadInt64 = native('readInt64')
  const nativeReadUInt64 = native('readUInt64')
  const nativeWriteInt64 = native('writeInt64')
  const nativeWriteUInt64 = native('writeUInt64')

  // The address of a buffer never changes: asked once of native code, then remembered.
  const known = new WeakMap<Buffer, number>()
  const addressOf = (buffer: Buffer): number | undefined => {
    let address = known.get(buffer)
    if (address === undefined) {
      address = nativeAddress(buffer, 0) as number
      if (!Number.isSafeInteger(address)) return undefined
      known.set(buffer, address)
    }
    return address
  }
  // Native code reads and writes at buffer + offset without looking at the buffer's length; the
  // JavaScript versions below handle only offsets inside the buffer (an offset left out is 0).
  const inside = (buffer: unknown, offset: unknown, size: number): buffer is Buffer =>
    Buffer.isBuffer(buffer) &&
    Number.isInteger(offset ?? 0) &&
    ((offset ?? 0) as number) >= 0 &&
    ((offset ?? 0) as number) + size <= buffer.length
  const at = (offset: unknown) => (offset ?? 0) as number
  const readWord = (buffer: Buffer, offset: number) => (little ? buffer.readBigUInt64LE(offset) : buffer.readBigUInt64BE(offset))
  const writeWord = (buffer: Buffer, offset: number, value: bigint) =>
    little ? buffer.writeBigUInt64LE(value, offset) : buffer.writeBigUInt64BE(value, offset)
  const fromBig = (value: bigint) => (value < -JS_MAX_INT || value > JS_MAX_INT ? value.toString() : Number(value))
  const plainNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 2 ** 63

  ref.address = (buffer: unknown, offset?: unknown) => {
    const address = Buffer.isBuffer(buffer) && Number.isInteger(offset ?? 0) ? addressOf(buffer) : undefined
    return address === undefined ? nativeAddress(buffer, offset) : address + at(offset)
  }

  ref.isNull = (buffer: unknown, offset?: unknown) => {
    const address = Buffer.isBuffer(buffer) && Number.isInteger(offset ?? 0) ? addressOf(buffer) : undefined
    return address === undefined ? nativeIsNull(buffer, offset) : address + at(offset) === 0
  }

  // The pointer is read here; native code only wraps it, from a fresh buffer that holds it.
  ref.readPointer = (buffer: unknown, offset?: unknown, size?: unknown) => {
    if (!inside(buffer, offset, 8)) return nativeReadPointer(buffer, offset, size)
    const pointer = readWord(buffer, at(offset))
    const holder = Buffer.alloc(8)
    writeWord(holder, 0, pointer)
    const target = nativeReadPointer(holder, 0, size) as Buffer
    if (pointer <= MAX_SAFE) known.set(target, Number(pointer))
    return target
  }

  // ref.writePointer: the pointer's address is written here and the pointed-to buffer is kept alive
  // as long as the buffer holding it, as the native version does with a reference of its own.
  ref.writePointer = (buffer: unknown, offset: unknown, pointer: unknown) => {
    if (inside(buffer, offset, 8) && pointer === null) {
      writeWord(buffer, at(offset), 0n)
      return
    }
    const address = inside(buffer, offset, 8) && Buffer.isBuffer(pointer) ? addressOf(pointer) : undefined
    if (address === undefined) return nativeWritePointer(buffer, offset, pointer)
    writeWord(buffer as Buffer, at(offset), BigInt(address))
    ref._attach(buffer as Buffer, pointer)
  }

  const readInt64 = (buffer: unknown, offset?: unknown) => {
    if (!inside(buffer, offset, 8)) return nativeReadInt64(buffer, offset)
    return fromBig(little ? buffer.readBigInt64LE(at(offset)) : buffer.readBigInt64BE(at(offset)))
  }
  const readUInt64 = (buffer: unknown, offset?: unknown) => {
    if (!inside(buffer, offset, 8)) return nativeReadUInt64(buffer, offset)
    return fromBig(readWord(buffer, at(offset)))
  }
  // Numbers only: a String goes to native code, which parses it as strtoll/strtoull do.
  const writeInt64 = (buffer: unknown, offset: unknown, value: unknown) => {
    if (!inside(buffer, offset, 8) || !plainNumber(value)) return nativeWriteInt64(buffer, offset, value)
    const integer = BigInt(Math.trunc(value))
    if (little) buffer.writeBigInt64LE(integer, at(offset))
    else buffer.writeBigInt64BE(integer, at(offset))
  }
  const writeUInt64 = (buffer: unknown, offset: unknown, value: unknown) => {
    if (!inside(buffer, offset, 8) || !plainNumber(value)) return nativeWriteUInt64(buffer, offset, value)
    writeWord(buffer, at(offset), BigInt.asUintN(64, BigInt(Math.trunc(value))))
  }
  // ref-napi also exports them under the machine's endianness (readInt64LE …), the names its types use.
  for (const [name, shim] of Object.entries({ readInt64, readUInt64, writeInt64, writeUInt64 })) {
    ref[name] = shim
    ref[name + ref.endianness] = shim
  }
}
