// ESLint for the agent (npm run lint): the recommended rules of ESLint and typescript-eslint.
// Layout is Prettier's business (.prettierrc.json), so no formatting rules here.
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import tseslint from 'typescript-eslint'

export default defineConfig({ ignores: ['dist/', 'node_modules/'] }, js.configs.recommended, tseslint.configs.recommended)
