// The commands of `npx undertow`. Each returns an exit code.
import { stdin, stdout } from 'node:process'
import { loadClassifier } from '../models/load.ts'
import { classifyLines } from '../models/classify-lines.ts'
import { REPLAY_USAGE, replay } from './replay.ts'

const USAGE = `usage: undertow <command>

commands:
  classify    read posts from stdin, one per line (plain text, or JSON with a "text" field),
              write one JSON result per line, in input order (with the language read from
              the text, and whether the server would score it: SCORED_LANGUAGES)
  replay      play a file of posts (NDJSON or CSV) into a running Undertow, at xN speed or as
              fast as possible (undertow replay --help)`

export async function main(args: string[]): Promise<number> {
  const [command] = args
  switch (command) {
    case 'classify': {
      const languages = process.env.SCORED_LANGUAGES
      const classifier = await loadClassifier(process.env.SENTIMENT_MODEL, languages ? { languages } : {})
      await classifyLines(stdin, stdout, classifier)
      return 0
    }
    case 'replay':
      if (args.includes('--help') || args.includes('-h')) {
        console.log(REPLAY_USAGE)
        return 0
      }
      return replay(args.slice(1))
    case undefined:
    case '-h':
    case '--help':
      console.log(USAGE)
      return command === undefined ? 2 : 0
    default:
      console.error(`undertow: unknown command "${command}"\n\n${USAGE}`)
      return 2
  }
}
