import { loadConfig } from '../config.js';
import { openConfiguredDatabase } from '../database.js';
import { fatal } from '../process-exit.js';

const USAGE = `usage: npm run cli -- <command>

commands:
  db migrate        apply pending database migrations (also: npm run db:migrate)
  help              this text`;

interface Command {
  run(args: string[]): Promise<number>;
}

const commands: Record<string, Command> = {
  'db migrate': {
    async run() {
      const config = loadConfig(process.env);
      const database = await openConfiguredDatabase(config, 'a command (npm run cli)');
      await database.close();
      process.stdout.write(`database is up to date (${database.kind})\n`);
      return 0;
    },
  },
};

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  for (const words of [2, 1]) {
    const command = commands[argv.slice(0, words).join(' ')];
    if (command) return command.run(argv.slice(words));
  }
  process.stderr.write(`reader-donations: unknown command "${argv.join(' ')}"\n${USAGE}\n`);
  return 2;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  fatal(err);
}
