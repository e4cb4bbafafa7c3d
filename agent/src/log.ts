import { LogLevel } from '@credo-ts/core'

export type LogLevelName = keyof typeof LogLevel

export function parseLogLevel(value: string | undefined, fallback: LogLevelName = 'warn'): LogLevel {
  const name = (value ?? fallback).toLowerCase()
  if (!(name in LogLevel) || !Number.isNaN(Number(name))) {
    throw new Error(`unknown log level "${value}"; expected one of test, trace, debug, info, warn, error, fatal, off`)
  }
  return LogLevel[name as LogLevelName]
}

let threshold: LogLevel = LogLevel.warn

export function setLogLevel(level: LogLevel): void {
  threshold = level
}

export function log(level: LogLevel, message: string): void {
  if (level < threshold || threshold === LogLevel.off) return
  process.stderr.write(`${new Date().toISOString()} [akrida-agent ${LogLevel[level]}] ${message}\n`)
}
