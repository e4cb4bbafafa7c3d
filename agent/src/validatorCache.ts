// Remembers which class-validator rules apply to each class (class-validator 0.14.1).
//
// Credo validates every DIDComm message a holder receives, and every object nested in it. For each
// object class-validator looks up the rules of its class afresh: it walks the rules of every class
// it knows (Credo declares hundreds) to find the ones the class inherits, then groups them by
// property. The answer changes only when rules are added, which happens when a class is declared
// (at module load), so it is worked out once per class and options and kept until a rule is added.
// Nothing else in validation changes: the same rules, in the same order, run on every object.
import { LogLevel } from '@credo-ts/core'
import { getMetadataStorage } from 'class-validator'
import { version } from 'class-validator/package.json'

import { log } from './log'

/** The class-validator version whose metadata storage this file knows. */
export const REMEMBERED_VERSION = '0.14.1'

type Rules = unknown[]
interface Storage {
  getTargetValidationMetadatas: (target: unknown, schema: unknown, always: unknown, strict: unknown, groups?: string[]) => Rules
  groupByPropertyName: (rules: Rules) => Record<string, Rules>
  addValidationMetadata: (rule: unknown) => void
  addValidationSchema: (schema: unknown) => void
}

/** For tests: lookups answered from what was kept, and lookups worked out. */
export const counts = { remembered: 0, worked: 0 }

let applied: boolean | undefined

/** Keeps class-validator's rule lookups once per process; false when it is not class-validator 0.14.1. */
export function rememberValidationRules(): boolean {
  if (applied !== undefined) return applied
  applied = version === REMEMBERED_VERSION
  if (!applied) {
    log(LogLevel.warn, `class-validator ${version} is not ${REMEMBERED_VERSION}: its rule lookups are left as they are`)
    return false
  }
  const storage = getMetadataStorage() as unknown as Storage
  const lookups = new Map<unknown, Map<string, Rules>>() // class -> options -> its rules
  const groupings = new WeakMap<Rules, Record<string, Rules>>() // a kept answer -> its rules by property

  const lookup = storage.getTargetValidationMetadatas.bind(storage)
  storage.getTargetValidationMetadatas = (target, schema, always, strict, groups) => {
    const options = JSON.stringify([schema, always, strict, groups ?? null])
    let ofClass = lookups.get(target)
    if (!ofClass) lookups.set(target, (ofClass = new Map()))
    let rules = ofClass.get(options)
    if (rules) counts.remembered += 1
    else {
      counts.worked += 1
      rules = lookup(target, schema, always, strict, groups)
      ofClass.set(options, rules)
    }
    return rules
  }
  // The validator only reads the groups it is handed; the kept answer's grouping is kept beside it.
  const group = storage.groupByPropertyName.bind(storage)
  storage.groupByPropertyName = (rules) => {
    let grouped = groupings.get(rules)
    if (!grouped) groupings.set(rules, (grouped = group(rules)))
    return grouped
  }
  // A class declared later (a module loaded on demand) adds rules: everything kept is worked out again.
  for (const name of ['addValidationMetadata', 'addValidationSchema'] as const) {
    const add = storage[name].bind(storage)
    storage[name] = (added: unknown) => {
      lookups.clear()
      add(added)
    }
  }
  return true
}
